"""Input data of test customers (a module of its own: conftest modules cannot be imported by name)."""


def person(**extra):  # noqa: ANN201
    return {"kind": "person", "first_name": "Jan", "last_name": "Novák", **extra}


def company(**extra):  # noqa: ANN201
    return {"kind": "company", "company_name": "Stavby Šťastný s.r.o.", "ico": "27082440", "dic": "CZ27082440", **extra}
