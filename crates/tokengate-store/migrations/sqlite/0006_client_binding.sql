-- How a code and its refresh-token family must be redeemed: the platform of the redirect URI the
-- code was issued to (web, spa, public_client), and the client binding the family carries
-- (confidential: credentials; spa: cross-origin only; public: no secret). NULL on older rows:
-- the issuer then derives it from the app registration.
ALTER TABLE authorization_codes ADD COLUMN redirect_platform TEXT;
ALTER TABLE refresh_tokens ADD COLUMN client_binding TEXT;
