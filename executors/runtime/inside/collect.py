"""Fill the runtime volume from the lmc sandbox image: run there as root, without network.

    python3 collect.py OUT

OUT already holds agent/ (our packages, put there through Docker's archive API).
Adds Debian's python3.11 and bash, their standard library (trimmed) and every
shared library they or the library's extension modules need, the loader that runs
them, and msgpack; compiles agent/ to bytecode; checks the result runs; writes
OUT/.complete last, so a volume without it is a partial one.
"""

from __future__ import annotations

import compileall
import os
import py_compile
import re
import shutil
import subprocess
import sys

PYTHON, BASH = "/usr/bin/python3.11", "/usr/bin/bash"
STDLIB = "/usr/lib/python3.11"
MSGPACK = "/usr/lib/python3/dist-packages/msgpack"
#: parts of the standard library an agent never needs (tests, GUI, build configuration...)
TRIM = {"test", "idlelib", "tkinter", "turtledemo", "lib2to3", "pydoc_data", "ensurepip", "distutils",
        "dist-packages", "site-packages", "turtle.py", "__phello__"}
#: extension modules left out: test helpers, and ones that drag in large library trees (Tk, Kerberos, Berkeley DB)
TRIM_DYNLOAD = re.compile(r"^(_test|_ctypes_test|xxlimited|_xxtestfuzz|_tkinter|nis|_dbm|ossaudiodev)")
LDD_LINE = re.compile(r"^\s*(\S+) => (\S+) \(0x[0-9a-f]+\)$")


def ldd(path: str) -> tuple[list[tuple[str, str]], str | None]:
    """(soname, file) of every shared library an ELF file needs, and its loader."""
    out = subprocess.run(["ldd", path], capture_output=True, text=True, check=True).stdout
    libs: list[tuple[str, str]] = []
    loader: str | None = None
    for line in out.splitlines():
        if "not found" in line:
            sys.exit(f"collect: {path} needs a library the image lacks: {line.strip()}")
        match = LDD_LINE.match(line)
        if match:
            libs.append((match.group(1), match.group(2)))
        elif line.strip().startswith("/"):
            loader = line.split()[0]
    return libs, loader


def copy_tree(src: str, dst: str) -> None:
    def ignore(folder: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n in TRIM or n.startswith("config-")}
        if os.path.basename(folder) == "lib-dynload":
            skip |= {n for n in names if TRIM_DYNLOAD.match(n)}
        # only plain bytecode: the optimised variants are never used
        return skip | {n for n in names if ".opt-" in n}

    shutil.copytree(src, dst, ignore=ignore, symlinks=False)  # copy2 keeps mtimes: the pycs stay valid


def main(out: str) -> None:
    lib, bin_ = os.path.join(out, "lib"), os.path.join(out, "bin")
    os.makedirs(lib)
    os.makedirs(bin_)
    shutil.copy2(PYTHON, os.path.join(bin_, "python3"))
    shutil.copy2(BASH, os.path.join(bin_, "bash"))
    copy_tree(STDLIB, os.path.join(lib, "python3.11"))
    shutil.copytree(MSGPACK, os.path.join(out, "agent", "msgpack"))

    elves = [PYTHON, BASH]
    for root, _, names in os.walk(out):
        elves += [os.path.join(root, n) for n in names if n.endswith(".so")]
    loader = None
    for elf in elves:
        libs, found = ldd(elf)
        loader = loader or found
        for soname, path in libs:
            target = os.path.join(lib, soname)
            if not os.path.exists(target):
                shutil.copy2(os.path.realpath(path), target)
    if loader is None:
        sys.exit(f"collect: ldd named no loader for {PYTHON}")
    shutil.copy2(os.path.realpath(loader), os.path.join(lib, "ld.so"))

    # unchecked-hash bytecode: valid whatever the mtimes, and the volume is read-only
    if not compileall.compile_dir(os.path.join(out, "agent"), quiet=1,
                                  invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH):
        sys.exit("collect: our packages failed to compile")
    for root, dirs, names in os.walk(out):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
        for name in names:
            path = os.path.join(root, name)
            os.chmod(path, 0o755 if os.access(path, os.X_OK) else 0o644)
    os.chmod(out, 0o755)
    check(out)
    with open(os.path.join(out, ".complete"), "w") as f:
        f.write(f"{sys.version.split()[0]}\n")


def check(out: str) -> None:
    """The bundled programs run through the bundled loader alone: no library missing."""
    run = [os.path.join(out, "lib", "ld.so"), "--library-path", os.path.join(out, "lib")]
    code = ("import sys, ssl, sqlite3, json, ctypes, decimal, lzma, bz2, zlib, hashlib; "
            f"sys.path.insert(0, {os.path.join(out, 'agent')!r}); import msgpack, executors.sandbox.agent; "
            f"assert sys.prefix == {out!r}, sys.prefix")
    subprocess.run(run + [os.path.join(out, "bin", "python3"), "-I", "-S", "-c", code], check=True)
    subprocess.run(run + [os.path.join(out, "bin", "bash"), "-c", "true"], check=True)


if __name__ == "__main__":
    main(sys.argv[1])
