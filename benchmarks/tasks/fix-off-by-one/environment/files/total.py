import sys
n = int(sys.argv[1])
print(sum(range(1, n)))
