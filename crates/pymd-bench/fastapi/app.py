"""The source plan's API stack, as the plan designs it, for the side-by-side benchmark.

FastAPI + python-jose, run by uvicorn with 2 workers on 127.0.0.1 (started by `pymd-bench`).
As in the plan's `backend/auth/jwt_validator.py`: the JWKS is fetched once and kept by
`functools.lru_cache`, and every request finds its key by `kid` and calls `jwt.decode(...)`
(RS256, audience, issuer). Unlike the plan there is no database behind it: the list is a
fixed answer of the same shape as PyMD's, so the row measures the web stack and the token
check and nothing else (which can only flatter it).

Configuration (set by the bench): BENCH_ISSUER (the issuer with its trailing slash, whose
/.well-known/jwks.json is fetched) and BENCH_AUDIENCE.
"""

import json
import os
import urllib.request
from functools import lru_cache

from fastapi import Depends, FastAPI, HTTPException, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jose import JWTError, jwt

ISSUER = os.environ["BENCH_ISSUER"]
AUDIENCE = os.environ["BENCH_AUDIENCE"]
ALGORITHMS = ["RS256"]

app = FastAPI(title="source plan stack (bench)")
security = HTTPBearer()


@lru_cache()
def get_jwks():
    """Fetch and cache the issuer's JWKS (public keys), once per worker."""
    with urllib.request.urlopen(f"{ISSUER}.well-known/jwks.json", timeout=5) as response:
        return json.load(response)


def verify_token(token: str) -> dict:
    """Verify signature, expiry, audience and issuer, as the plan's verify_token does."""
    try:
        jwks = get_jwks()
        unverified_header = jwt.get_unverified_header(token)
        rsa_key = {}
        for key in jwks["keys"]:
            if key["kid"] == unverified_header.get("kid"):
                rsa_key = {
                    "kty": key["kty"],
                    "kid": key["kid"],
                    "use": key.get("use", "sig"),
                    "n": key["n"],
                    "e": key["e"],
                }
                break
        if not rsa_key:
            raise HTTPException(status_code=401, detail="Unable to find appropriate key")
        return jwt.decode(
            token, rsa_key, algorithms=ALGORITHMS, audience=AUDIENCE, issuer=ISSUER
        )
    except jwt.ExpiredSignatureError:
        raise HTTPException(status_code=401, detail="Token has expired")
    except jwt.JWTClaimsError:
        raise HTTPException(status_code=401, detail="Invalid claims")
    except JWTError:
        raise HTTPException(status_code=401, detail="Invalid token")


async def get_current_user(
    credentials: HTTPAuthorizationCredentials = Security(security),
) -> dict:
    return verify_token(credentials.credentials)


def summary(i: int, owner: str) -> dict:
    return {
        "id": f"00000000-0000-4000-8000-{i:012d}",
        "title": f"Document {i}",
        "excerpt": "Bench Some Markdown.",
        "owner_id": owner,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "version": 1,
    }


@app.get("/api/v1/documents")
async def list_documents(user: dict = Depends(get_current_user)):
    return {"documents": [summary(i, user["sub"]) for i in range(10)], "next_cursor": None}


@app.get("/")
async def root():
    return {"status": "ok"}
