"""What looks like a secret value: by the name it is set under, or by its shape.

Names are read in any case and spelling (`DB_PASS`, `PGPASSWORD`, `dbPassword`,
`aws_secret_access_key`, `MYSQL_PWD`, `HF_TOKEN`); values are secret when they
carry credentials in a URL, or `name=value` / `name: value` pairs with such a name
(flags, shell assignments, query strings, connection strings, config files). A
value that only refers to another one (`$VAR`, `$(VAR)`, `${VAR}`) is no secret,
and neither is a name that says where a secret lives (`PASSWORD_FILE`, `SECRET_NAME`).
"""

from __future__ import annotations

import re
from itertools import pairwise

# Anywhere in a name, glued to other words or not.
SECRET_WORDS = re.compile(r"PASSWORD|PASSWD|PASSPHRASE|SECRET|CREDENTIAL|PRIVATE_?KEY|"
                          r"API_?KEY|ACCESS_?KEY|AUTH_?TOKEN", re.IGNORECASE)
# Words of a name that make it secret when one ends with them (DB_PASS, PGPASS, HF_TOKEN).
SECRET_ENDINGS = ("PASS", "PWD", "TOKEN", "CREDS", "APIKEY")
NOT_SECRET_WORDS = {"BYPASS", "COMPASS", "SURPASS"}
# A KEY is secret after one of these words (SIGNING_KEY, SSH_KEY), not alone (CACHE_KEY).
KEY_QUALIFIERS = {"API", "ACCESS", "PRIVATE", "SECRET", "SIGNING", "ENCRYPTION", "MASTER",
                  "SSH", "CLIENT", "AUTH", "HMAC", "ACCOUNT", "SAS", "LICENSE", "SERVICE"}
# A last word that says where the secret is kept, not what it is.
LOCATORS = {"FILE", "PATH", "DIR", "NAME", "REF", "URL", "URI", "ENDPOINT", "HOST", "PORT",
            "USER", "USERNAME", "ENV", "VAR", "MOUNT"}
NOT_SECRET_NAMES = {"PWD", "OLDPWD"}  # the shell's working directories
NAME_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
CREDENTIALS_IN_URL = re.compile(r"://[^/\s:@]*:[^/\s@]+@")
KEY_VALUE = re.compile(r"(?:^|[\s;&?,{(\"'])-{0,2}([A-Za-z][\w.-]*)[\"']?[ \t]*[=:][ \t]*"
                       r"(\"[^\"\n]*\"|'[^'\n]*'|[^\s;&?,\"'}]+)")
FLAG = re.compile(r"^--?([A-Za-z][\w.-]*)$")
# Values that are credentials by their shape alone, whatever they are set under.
CREDENTIAL_SHAPES = {
    "an AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "a private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "a GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),
    "a GitLab token": re.compile(r"\bglpat-[\w-]{20,}"),
    "a Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "a JSON web token": re.compile(r"\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]+"),
    "an HTTP credential": re.compile(r"^\s*(?:Bearer|Basic|Token|Digest)\s+\S{8,}",
                                     re.IGNORECASE),
}


def secret_name(name: str) -> bool:
    words = [word.upper() for word in NAME_WORDS.findall(name)]
    if not words or name.upper() in NOT_SECRET_NAMES or words[-1] in LOCATORS:
        return False
    if SECRET_WORDS.search(name) or SECRET_WORDS.search("_".join(words)):
        return True
    if any(word.endswith(SECRET_ENDINGS) and word not in NOT_SECRET_WORDS for word in words):
        return True
    return any(word == "KEY" and previous in KEY_QUALIFIERS
               for previous, word in pairwise(words))


def reference(value: str) -> bool:
    """Whether a value only points at another one ($VAR, ${VAR}, $(VAR), $(command))."""
    return value.strip().strip("\"'").startswith("$")


def plain(value: str) -> bool:
    return bool(value.strip().strip("\"'")) and not reference(value)


def secrets_in_text(text: str) -> list[str]:
    """What in a value, a script or a file carries a secret: URL credentials or secret pairs."""
    found = ["credentials in a URL"] if CREDENTIALS_IN_URL.search(text) else []
    found += [what for what, shape in CREDENTIAL_SHAPES.items() if shape.search(text)]
    return found + [name for name, value in KEY_VALUE.findall(text)
                    if secret_name(name) and plain(value)]


def secrets_in_words(words: list[str]) -> list[str]:
    """What in a command line carries a secret: a secret flag and its value, or any pair."""
    found: list[str] = []
    for index, word in enumerate(words):
        flag = FLAG.match(word)
        following = words[index + 1] if index + 1 < len(words) else ""
        if flag and secret_name(flag.group(1)) and plain(following) \
                and not following.startswith("-"):
            found.append(word)
        found += secrets_in_text(word)
    return found
