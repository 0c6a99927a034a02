from . import build

print(build() or "not built")
