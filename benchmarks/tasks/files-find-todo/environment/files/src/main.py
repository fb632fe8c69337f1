# TODO: fix
print(1)
