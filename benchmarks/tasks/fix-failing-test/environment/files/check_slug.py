from text_utils import slugify
assert slugify('Hello World') == 'hello-world'
assert slugify('  A  B! ') == 'a-b'
print('OK')
