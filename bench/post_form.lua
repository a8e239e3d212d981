-- wrk script: POST an application/x-www-form-urlencoded body taken from $WRK_BODY.
-- Used by bench/issuer_client_credentials.sh for the OAuth2 token endpoints.
local body = os.getenv("WRK_BODY")
if body == nil or body == "" then
  error("post_form.lua: WRK_BODY is not set")
end
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
