// Drives msal-browser for the interop test: loginRedirect, handleRedirectPromise after the
// redirect back, acquireTokenSilent (cache, then forceRefresh). Results land in window.spa.
(function () {
  "use strict";
  const summary = (r) => r && {
    accessToken: r.accessToken,
    idToken: r.idToken,
    scopes: r.scopes,
    fromCache: r.fromCache,
    username: r.account && r.account.username,
    expiresOn: r.expiresOn && r.expiresOn.getTime(),
  };
  const failure = (e) => ({ error: String((e && e.errorCode) || e), message: String((e && e.errorMessage) || (e && e.message) || e) });

  window.spa = { ready: false, refreshTokens: [] };
  // The test replays a refresh token outside the browser (it must be refused): keep the ones the
  // token endpoint hands out (msal-browser encrypts its own cache).
  const fetchOf = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const response = await fetchOf(input, init);
    if (String(input.url || input).includes("/oauth2/v2.0/token")) {
      response.clone().json().then((body) => body.refresh_token && window.spa.refreshTokens.push(body.refresh_token), () => {});
    }
    return response;
  };
  window.spa.started = (async () => {
    const config = await (await fetch("/config.json")).json();
    const app = new msal.PublicClientApplication({
      auth: {
        clientId: config.clientId,
        authority: config.authority,
        knownAuthorities: [new URL(config.authority).host],
        redirectUri: config.redirectUri,
      },
      cache: { cacheLocation: "localStorage" },
    });
    await app.initialize();
    window.spa.app = app;
    try {
      window.spa.redirectResult = summary(await app.handleRedirectPromise());
    } catch (e) {
      window.spa.redirectResult = failure(e);
    }
    window.spa.login = (scopes) => app.loginRedirect({ scopes });
    window.spa.silent = async (scopes, forceRefresh) => {
      const account = app.getAllAccounts()[0];
      if (!account) return { error: "no_account" };
      try {
        return summary(await app.acquireTokenSilent({ scopes, account, forceRefresh }));
      } catch (e) {
        return failure(e);
      }
    };
    window.spa.ready = true;
    document.getElementById("status").textContent = "ready";
  })().catch((e) => {
    window.spa.startError = failure(e);
  });
})();
