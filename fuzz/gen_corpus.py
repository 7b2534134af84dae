#!/usr/bin/env python3
"""Writes the committed seed corpus of the fuzz targets: fuzz/corpus/<target>/<name>.

Real and hostile inputs, signed with the same fixture keys, secrets and time as
fuzz/src/lib.rs (and tests/jwt_attacks.rs), so the valid seeds verify in the targets.
Each file starts with the target's mode/selector byte (see the target's header comment).

Needs only Python 3; the EdDSA seeds use the `cryptography` package when it is there
and are skipped otherwise. Re-run after changing a fixture: `python3 fuzz/gen_corpus.py`.
"""

import base64
import hashlib
import hmac
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

KID = "AAAAAAAAAAAAAAAA"
HS_KEY = bytes([7] * 32)
ED_KID = "EEEEEEEEEEEEEEEE"
ED_SEED = bytes([9] * 32)
T = 1_750_000_000
S1 = b"fuzz-refresh-secret-number-one-000000001"
S2 = b"fuzz-refresh-secret-number-two-000000002"

try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    ED = Ed25519PrivateKey.from_private_bytes(ED_SEED)
except Exception:  # noqa: BLE001 - optional dependency
    ED = None
    print("cryptography is missing: EdDSA seeds skipped", file=sys.stderr)


def b64(b):
    if isinstance(b, str):
        b = b.encode()
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def sign(h, p, alg="HS256"):
    h = h.encode() if isinstance(h, str) else h
    p = p.encode() if isinstance(p, str) else p
    si = f"{b64(h)}.{b64(p)}".encode()
    if alg == "HS256":
        sig = hmac.new(HS_KEY, si, hashlib.sha256).digest()
    else:
        sig = ED.sign(si)
    return si.decode() + "." + b64(sig)


def header(alg="HS256", kid=None, **extra):
    kid = kid if kid is not None else (KID if alg == "HS256" else ED_KID)
    h = {"alg": alg, "typ": "at+jwt", "kid": kid}
    h.update(extra)
    return json.dumps(h, separators=(",", ":"))


def canonical(sub="alice", exp=T + 600, nbf=T, iat=T, iss="tandem-session",
              aud="tandem-session", jti="jti-1", sid="sid-1", dv=0, tail=""):
    """The exact shape NewClaims::to_json writes (the fast path), plus raw tail text."""
    s = (f'{{"iss":{json.dumps(iss)},"sub":{json.dumps(sub)},"aud":{json.dumps(aud)},'
         f'"exp":{exp},"nbf":{nbf},"iat":{iat},"jti":{json.dumps(jti)},'
         f'"sid":{json.dumps(sid)},"dv":{dv}')
    return s + (tail or "}")


class Out:
    def __init__(self, target):
        self.dir = os.path.join(CORPUS, target)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.n = 0

    def put(self, name, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        path = os.path.join(self.dir, name)
        assert not os.path.exists(path), name
        with open(path, "wb") as f:
            f.write(data)
        self.n += 1


def jwt_seeds():
    o = Out("jwt_verify")
    raw_hs, raw_ed = b"\x00", b"\x01"
    js_hs, js_ed = b"\x02", b"\x03"
    fs_hs, fs_ed = b"\x04", b"\x05"
    good = sign(header(), canonical())

    # -- mode 0: raw tokens
    o.put("raw-hs-valid", raw_hs + good.encode())
    o.put("raw-hs-valid-app-claims",
          raw_hs + sign(header(), canonical(tail=',"role":"admin","n":[1,2.5,{"a":null}]}')).encode())
    o.put("raw-hs-valid-aud-array",
          raw_hs + sign(header(), '{"iss":"tandem-session","sub":"bob","aud":["x","tandem-session"],'
                                  f'"exp":{T + 60},"iat":{T},"jti":"j","sid":"s","dv":7}}').encode())
    o.put("raw-hs-valid-spaced-header",
          raw_hs + sign('{"alg":"HS256", "typ":"at+jwt", "kid":"AAAAAAAAAAAAAAAA"}', canonical()).encode())
    o.put("raw-hs-expired", raw_hs + sign(header(), canonical(exp=T - 10, nbf=T - 900, iat=T - 900)).encode())
    o.put("raw-hs-nbf-future", raw_hs + sign(header(), canonical(nbf=T + 60)).encode())
    o.put("raw-hs-wrong-iss", raw_hs + sign(header(), canonical(iss="evil")).encode())
    o.put("raw-hs-wrong-aud", raw_hs + sign(header(), canonical(aud="other")).encode())
    o.put("raw-hs-typ-jwt", raw_hs + sign(header(typ="JWT"), canonical()).encode())
    o.put("raw-hs-unknown-kid", raw_hs + sign(header(kid="BBBBBBBBBBBBBBBB"), canonical()).encode())
    o.put("raw-hs-no-kid", raw_hs + sign('{"alg":"HS256","typ":"at+jwt"}', canonical()).encode())
    o.put("raw-alg-none", raw_hs + f"{b64(header(alg='none'))}.{b64(canonical())}.".encode())
    o.put("raw-alg-none-sig", raw_hs + f"{b64(header(alg='none'))}.{b64(canonical())}.AAAA".encode())
    o.put("raw-hs-crit", raw_hs + sign(header(crit=["exp"]), canonical()).encode())
    o.put("raw-hs-jwk", raw_hs + sign(header(jwk={"kty": "oct", "k": b64(HS_KEY)}), canonical()).encode())
    o.put("raw-hs-dup-sub",
          raw_hs + sign(header(), canonical(tail=',"sub":"admin"}')).encode())
    o.put("raw-hs-escaped-dup",
          raw_hs + sign(header(), canonical(tail=',"\\u0073ub":"admin"}')).encode())
    o.put("raw-hs-proto", raw_hs + sign(header(), canonical(tail=',"__proto__":{"isAdmin":true}}')).encode())
    o.put("raw-hs-exp-string",
          raw_hs + sign(header(), canonical().replace(f'"exp":{T + 600}', f'"exp":"{T + 600}"')).encode())
    flipped = good[:-1] + ("B" if good[-1] != "B" else "C")
    o.put("raw-hs-bad-sig", raw_hs + flipped.encode())
    o.put("raw-hs-padded-sig", raw_hs + (good + "=").encode())
    si, sig = good.rsplit(".", 1)
    o.put("raw-hs-std-alphabet-plus", raw_hs + f"{si}.+{sig[1:]}".encode())
    o.put("raw-hs-std-alphabet-slash", raw_hs + f"{si}./{sig[1:]}".encode())
    o.put("raw-hs-bad-sig-middle", raw_hs + f"{si}.{sig[:10]}{'A' if sig[10] != 'A' else 'B'}{sig[11:]}".encode())
    o.put("raw-jwe-5-segments", raw_hs + (good + ".AAAA.BBBB").encode())
    o.put("raw-trailing-dot", raw_hs + (good + ".").encode())
    o.put("raw-leading-dot", raw_hs + ("." + good).encode())
    o.put("raw-double-dot", raw_hs + good.replace(".", "..", 1).encode())
    o.put("raw-space", raw_hs + (good + " ").encode())
    o.put("raw-json-serialization", raw_hs + b'{"payload":"e30","signatures":[]}')
    o.put("raw-dots", raw_hs + b"." * 2000)
    o.put("raw-empty", raw_hs)
    o.put("raw-too-long", raw_hs + sign(header(), canonical(tail=',"pad":"' + "x" * 6000 + '"}')).encode())
    # HS token presented to the EdDSA ring and the other way round (algorithm confusion).
    o.put("raw-hs-token-to-ed", raw_ed + good.encode())
    hs_with_ed_kid = sign(header(kid=ED_KID), canonical())
    o.put("raw-hs256-under-ed-kid", raw_ed + hs_with_ed_kid.encode())
    if ED is not None:
        ed_good = sign(header("EdDSA"), canonical(), "EdDSA")
        o.put("raw-ed-valid", raw_ed + ed_good.encode())
        o.put("raw-ed-valid-app-claims",
              raw_ed + sign(header("EdDSA"), canonical(tail=',"tier":3}'), "EdDSA").encode())
        o.put("raw-ed-expired",
              raw_ed + sign(header("EdDSA"), canonical(exp=T - 100, iat=T - 1000, nbf=T - 1000), "EdDSA").encode())
        o.put("raw-ed-token-to-hs", raw_hs + ed_good.encode())

    # -- mode 1: header 0xFF payload, signed as given
    def js(name, h, p, prefix=js_hs):
        h = h.encode() if isinstance(h, str) else h
        p = p.encode() if isinstance(p, str) else p
        o.put("json-" + name, prefix + h + b"\xff" + p)

    js("valid", header(), canonical())
    js("valid-reordered", '{"kid":"AAAAAAAAAAAAAAAA","typ":"at+jwt","alg":"HS256"}',
       '{"sub":"alice","iss":"tandem-session","aud":"tandem-session","exp":%d,"iat":%d,"jti":"j","sid":"s","dv":1}'
       % (T + 60, T))
    js("typ-application", header(typ="application/at+jwt"), canonical())
    js("typ-upper", header(typ="AT+JWT"), canonical())
    js("alg-lower", header(alg="hs256"), canonical())
    js("alg-rs256", header(alg="RS256"), canonical())
    js("alg-none", header(alg="none"), canonical())
    js("alg-missing", '{"typ":"at+jwt","kid":"AAAAAAAAAAAAAAAA"}', canonical())
    js("alg-number", '{"alg":1,"typ":"at+jwt","kid":"AAAAAAAAAAAAAAAA"}', canonical())
    js("dup-alg", '{"alg":"HS256","alg":"none","typ":"at+jwt","kid":"AAAAAAAAAAAAAAAA"}', canonical())
    js("kid-long", header(kid="A" * 65), canonical())
    js("kid-traversal", header(kid="../../etc/passwd"), canonical())
    js("header-x5u", header(x5u="https://example.invalid/k"), canonical())
    js("header-jku", header(jku="https://example.invalid/k"), canonical())
    js("header-b64", header(b64=False), canonical())
    js("header-zip", header(zip="DEF"), canonical())
    js("header-nested", header(x={"a": [1, {"b": 2}]}), canonical())
    js("header-not-object", "[]", canonical())
    js("header-bom", b"\xef\xbb\xbf" + header().encode(), canonical())
    js("payload-float-times", header(), '{"iss":"tandem-session","sub":"a","aud":"tandem-session",'
       '"exp":%d.5,"nbf":%d.25,"iat":%d.0,"jti":"j","sid":"s","dv":0}' % (T + 60, T, T))
    js("payload-exp-1e400", header(), canonical().replace(f'"exp":{T + 600}', '"exp":1e400'))
    js("payload-exp-null", header(), canonical().replace(f'"exp":{T + 600}', '"exp":null'))
    js("payload-no-exp", header(), canonical().replace(f'"exp":{T + 600},', ""))
    js("payload-dv-negative", header(), canonical(dv=-1))
    js("payload-dv-float", header(), canonical(dv="1.0"))
    js("payload-sid-long", header(), canonical(sid="s" * 65))
    js("payload-sid-dot", header(), canonical(sid="a.b"))
    js("payload-sub-empty", header(), canonical(sub=""))
    js("payload-sub-unicode", header(), canonical(sub="ålïce \u2028 \ud83d\ude00"))
    js("payload-lone-surrogate", header(), canonical(sub="x").replace('"sub":"x"', '"sub":"\\ud800"'))
    js("payload-deep", header(), canonical(tail=',"d":' + "[" * 200 + "]" * 200 + "}"))
    js("payload-many-members", header(),
       canonical(tail="," + ",".join(f'"k{i}":{i}' for i in range(300)) + "}"))
    js("payload-trailing-comma", header(), canonical(tail=",}"))
    js("payload-comment", header(), canonical(tail="/*x*/}"))
    js("payload-nan", header(), canonical(tail=',"x":NaN}'))
    js("payload-aud-empty-array", header(), canonical().replace('"aud":"tandem-session"', '"aud":[]'))
    js("payload-aud-17", header(),
       canonical().replace('"aud":"tandem-session"', '"aud":[' + ",".join(['"a"'] * 16) + ',"tandem-session"]'))
    js("payload-invalid-utf8", header(), canonical().encode() .replace(b'"alice"', b'"\xc0\xaf"'))
    if ED is not None:
        js("ed-valid", header("EdDSA"), canonical(), js_ed)
        js("ed-alg-hs", header("HS256", kid=ED_KID), canonical(), js_ed)

    # -- mode 2: payload only, fast header path vs strict header path
    def fs(name, p, prefix=fs_hs):
        o.put("fast-" + name, prefix + (p.encode() if isinstance(p, str) else p))

    fs("canonical", canonical())
    fs("canonical-tail", canonical(tail=',"role":{"a":[1,2.5,"x\\"y"],"b":null}}'))
    fs("neg-zero", canonical(exp=T + 600, nbf="-0", iat=T))
    fs("int-2p53", canonical(dv=0, iat=T, nbf=9007199254740992))
    fs("int-max-exact", canonical(nbf=9007199254740991))
    fs("dv-u64-max", canonical(dv=18446744073709551615))
    fs("dv-u64-over", canonical(dv=18446744073709551616))
    fs("exp-exponent", canonical(exp="1.75e9"))
    fs("exp-leading-zero", canonical(exp="01750000600"))
    fs("exp-minus", canonical(exp="-1"))
    fs("space-after", canonical() + " ")
    fs("space-inside", canonical().replace(",", ", ", 1))
    fs("escape-in-sub", canonical(sub="a").replace('"sub":"a"', '"sub":"\\u0061"'))
    fs("tab-in-sub", canonical(sub="a\tb").replace("\\t", "\t"))
    fs("tail-dup", canonical(tail=',"x":1,"x":2}'))
    fs("tail-registered", canonical(tail=',"exp":1}'))
    fs("tail-unterminated", canonical(tail=',"x":1'))
    fs("tail-comma-space", canonical(tail=', "x":1}'))
    fs("sub-256", canonical(sub="u" * 256))
    fs("sub-257", canonical(sub="u" * 257))
    if ED is not None:
        fs("ed-canonical", canonical(), fs_ed)
    return o.n


def cookie_seeds():
    o = Out("cookie_header")
    good = sign(header(), canonical())
    other = sign(header(), canonical(jti="jti-2"))

    def put(name, cookie, auth=None, sel=b"\x00"):
        data = sel + cookie.encode("latin-1")
        if auth is not None:
            data += b"\n" + auth.encode("latin-1")
        o.put(name, data)

    put("cookie-only", f"a=1; __Host-at={good}; b=2")
    put("cookie-no-space", f"a=1;__Host-at={good}")
    put("cookie-and-same-bearer", f"__Host-at={good}", f"Bearer {good}")
    put("cookie-and-other-bearer", f"__Host-at={good}", f"Bearer {other}")
    put("bearer-only", "", f"Bearer {good}", sel=b"\x80")
    put("bearer-lower", "", f"bearer {good}", sel=b"\x80")
    put("bearer-many-spaces", "", f"Bearer    {good}", sel=b"\x80")
    put("bearer-padding", "", "Bearer abc==", sel=b"\x80")
    put("bearer-only-padding", "", "Bearer ===", sel=b"\x80")
    put("bearer-empty", "", "Bearer ", sel=b"\x80")
    put("bearer-bare", "", "Bearer", sel=b"\x80")
    put("bearer-no-space", "", "Bearerabc", sel=b"\x80")
    put("bearer-two-words", "", "Bearer a b", sel=b"\x80")
    put("bearer-tab", "", "Bearer\tabc", sel=b"\x80")
    put("bearer-semicolon", "", "Bearer a;b", sel=b"\x80")
    put("bearer-mid-padding", "", "Bearer a=b", sel=b"\x80")
    put("basic", "", "Basic dXNlcjpwYXNz", sel=b"\x80")
    put("repeated", f"__Host-at={good}; x=1; __Host-at={other}")
    put("repeated-same", f"__Host-at={good}; __Host-at={good}")
    put("look-alike-case", f"__host-at={good}; __HOST-at={other}")
    put("look-alike-nbsp", f"\xa0__Host-at={good}")
    put("look-alike-utf8-nbsp", "\xc2\xa0__Host-at=x")
    put("look-alike-unprefixed", f"at={good}")
    put("quoted", '__Host-at="abc"')
    put("url-encoded", "__Host-at=%41%42")
    put("empty-value", "__Host-at=")
    put("empty-value-spaces", "__Host-at=   ; a=1")
    put("no-equals", "__Host-at; a=1")
    put("only-equals", "=")
    put("name-space-before-equals", f"__Host-at ={good}")
    put("tabs", f"\t__Host-at\t=\t{good}\t")
    put("semicolons", ";;;;")
    put("value-with-equals", "__Host-at=a=b=c")
    put("empty", "")
    put("name-at", "at=1; __Host-at=2", sel=b"\x01")
    put("name-sid", "sid=abc; sid2=x", sel=b"\x03")
    o.put("name-custom", b"\x04\x04k v=" + b"k v=1; k v =2")
    o.put("name-custom-empty", b"\x04\x00" + b"=x; a=1")
    o.put("name-custom-semicolon", b"\x04\x03a;b" + b"a;b=1")
    o.put("name-custom-invalid-utf8", b"\x04\x02\xff\xfe" + b"\xff\xfe=1")
    put("oversized", "a=b; " * 3300 + f"__Host-at={good}")
    put("bearer-oversized", "", "Bearer " + "a" * 16400, sel=b"\x80")
    put("both-absent", "", None, sel=b"\x80")
    # The access cookie in express-session's shape (selector bit 6): s:<sid>.<jwt>.
    sid = "AbCdEfGhIjKlMnOpQr-_09"
    bound = sign(header(), canonical(sid=sid))
    put("with-sid", f"a=1; __Host-at=s:{sid}.{bound}", sel=b"\x40")
    put("with-sid-and-bearer", f"__Host-at=s:{sid}.{bound}", f"Bearer {bound}", sel=b"\x40")
    put("with-sid-other-sid", f"__Host-at=s:{sid[::-1]}.{bound}", sel=b"\x40")
    put("with-sid-jwt-alone", f"__Host-at={bound}", sel=b"\x40")
    put("with-sid-url-encoded", f"__Host-at=s%3A{sid}.{bound}", sel=b"\x40")
    put("with-sid-short", f"__Host-at=s:{sid[:-1]}.{bound}", sel=b"\x40")
    return o.n


def hkdf_refresh_mac(secret):
    prk = hmac.new(b"tandem-session/v1", secret, hashlib.sha256).digest()
    return hmac.new(prk, b"refresh-mac" + b"\x01", hashlib.sha256).digest()


def refresh_text(raw53, secret):
    tag = hmac.new(hkdf_refresh_mac(secret), b"tandem-rt/v1" + raw53, hashlib.sha256).digest()[:16]
    return b64(raw53 + tag)


def refresh_seeds():
    o = Out("refresh_token")
    handle = bytes(range(16))
    secret = bytes(range(100, 132))

    def raw(version=1, gen=0, h=handle, s=secret):
        return bytes([version]) + h + gen.to_bytes(4, "big") + s

    t1 = refresh_text(raw(), S1)
    t2 = refresh_text(raw(gen=5), S2)
    assert len(t1) == 92
    o.put("valid-s1", b"\x00" + t1.encode())
    o.put("valid-s2-older-secret", b"\x00" + t2.encode())
    o.put("valid-gen-max", b"\x00" + refresh_text(raw(gen=0xFFFFFFFF), S1).encode())
    o.put("forged-tag", b"\x00" + (t1[:-2] + ("AA" if t1[-2:] != "AA" else "BA")).encode())
    o.put("forged-secret-bit", b"\x00" + refresh_text(raw(), b"x" * 40).encode())
    o.put("version-0", b"\x00" + refresh_text(raw(version=0), S1).encode())
    o.put("version-2", b"\x00" + refresh_text(raw(version=2), S1).encode())
    o.put("short-91", b"\x00" + t1[:91].encode())
    o.put("long-93", b"\x00" + (t1 + "A").encode())
    o.put("padded", b"\x00" + (t1 + "==").encode())
    o.put("std-alphabet", b"\x00" + t1.replace("-", "+").replace("_", "/").encode())
    o.put("plus-slash", b"\x00" + ("+" * 46 + "/" * 46).encode())
    o.put("whitespace", b"\x00" + (" " + t1[1:]).encode())
    o.put("all-A", b"\x00" + b"A" * 92)
    o.put("jwt-shaped", b"\x00" + sign(header(), canonical()).encode())
    o.put("empty", b"\x00")
    o.put("nul", b"\x00" + b"\x00" * 92)
    o.put("non-ascii", b"\x00" + "é".encode() * 46)
    # mode 1/3: built tokens (version ‖ handle ‖ generation ‖ secret, then salt)
    salt = bytes(range(200, 216))
    o.put("built-s1", b"\x01" + raw() + salt)
    o.put("built-s2", b"\x03" + raw(gen=9) + salt)
    o.put("built-gen-max", b"\x01" + raw(gen=0xFFFFFFFF) + salt)
    o.put("built-gen-max-1", b"\x01" + raw(gen=0xFFFFFFFE) + salt)
    o.put("built-version-0", b"\x01" + raw(version=0) + salt)
    o.put("built-version-ff", b"\x03" + raw(version=255) + salt)
    o.put("built-short", b"\x01\x01\x02\x03")
    o.put("built-zero", b"\x01" + bytes(69))
    return o.n


if __name__ == "__main__":
    counts = {"jwt_verify": jwt_seeds(), "cookie_header": cookie_seeds(), "refresh_token": refresh_seeds()}
    for k, v in counts.items():
        print(f"{k}: {v} seeds")
