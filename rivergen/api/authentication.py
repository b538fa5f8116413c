from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication


class BearerTokenAuthentication(JWTStatelessUserAuthentication):
    """`Authorization: Bearer <access token>`, the scheme name in any case (RFC 9110).

    The token is verified without reading the user; the tenancy's membership query,
    which every API route makes, requires the user to still exist and be active.
    """

    def get_raw_token(self, header: bytes) -> bytes | None:
        scheme, _, rest = header.strip().partition(b" ")
        if scheme.lower() != b"bearer":
            return None  # some other scheme: not ours to judge
        return super().get_raw_token(b"Bearer " + rest.strip())
