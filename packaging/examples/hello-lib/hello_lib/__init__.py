"""hello_lib: the module hello-api and hello-worker share (smartrestart's example packages)."""


def greeting() -> str:
    return "hello"
