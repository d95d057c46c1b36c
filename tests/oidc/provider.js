// A real OpenID provider for the tests (the npm package oidc-provider), started by
// tests/test_oidc.py: `node provider.js CONFIG.json`. CONFIG names the port, one client and
// the accounts with their claims. The login page is a minimal interaction of our own: GET
// /interaction/UID?account=NAME logs that account in (no password: this provider is only
// ever a test's), and consent is given at once, so a test drives the whole flow with plain
// HTTP requests. The accounts are read from CONFIG at each login, so a test changes a
// person's groups by rewriting it. An account's `userinfo_only` names claims that are left
// out of its ID token and given only by the userinfo endpoint (as AD FS and many Keycloak
// realms send groups); claims it lists under `_claim_names` and `_claim_sources` stand for
// claims kept elsewhere (Entra ID's groups overage). When a login ends here (the end-session
// page), the provider tells the client at its backchannel_logout_uri (Back-Channel Logout).
// Every other address is oidc-provider's own.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = () => JSON.parse(readFileSync(process.argv[2], 'utf8')).accounts;
const issuer = `http://127.0.0.1:${config.port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: config.client_id,
    client_secret: config.client_secret,
    redirect_uris: config.redirect_uris,
    post_logout_redirect_uris: config.post_logout_redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    backchannel_logout_uri: config.backchannel_logout_uri,
  }],
  pkce: { required: () => true }, // even for a confidential client (S256 is the only method)
  // The groups come with the profile, as Entra ID sends them without a scope of their own.
  claims: { openid: ['sub'], profile: ['name', 'preferred_username', 'groups'], email: ['email'] },
  conformIdTokenClaims: false, // the claims in the ID token, as Entra ID and AD FS send them
  findAccount: async (ctx, id) => {
    const account = accounts()[id];
    return account && { accountId: id, claims: async (use) => claimsFor(id, account, use) };
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true },
    backchannelLogout: { enabled: true },
  },
  cookies: { keys: ['only-a-test-provider'] },
  // The app under test listens on 127.0.0.1, which oidc-provider's protection against
  // requests to internal addresses (its own dispatcher) would refuse to call back.
  fetch: (url, { dispatcher, ...options }) => globalThis.fetch(url, options),
});

function claimsFor(id, { userinfo_only: userinfoOnly = [], ...account }, use) {
  const claims = { sub: id, ...account };
  if (use === 'id_token') userinfoOnly.forEach((name) => delete claims[name]);
  return claims;
}

provider.proxy = false;
// Why a token request was refused (its answer only says "invalid_grant"), for the tests.
provider.on('grant.error', (ctx, error) => console.log(`grant refused: ${error.error_detail}`));
provider.on('backchannel.success', (ctx, client, accountId) => console.log(
  `back-channel logout of ${accountId} answered`));
provider.on('backchannel.error', (ctx, error, client, accountId) => console.log(
  `back-channel logout of ${accountId} failed: ${error.message} ${error.cause ?? ""}`));

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const url = new URL(req.url, issuer);
  if (details.prompt.name === 'login') {
    const account = url.searchParams.get('account');
    if (!account || !accounts()[account]) {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(`<p>Log in as one of: ${Object.keys(accounts()).join(', ')}</p>`);
    }
    return provider.interactionFinished(req, res, { login: { accountId: account } });
  }
  const grant = details.grantId ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
  const missing = details.prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } });
}

const handle = provider.callback();
createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((error) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  } else {
    handle(req, res);
  }
}).listen(config.port, '127.0.0.1', () => console.log(`listening on ${issuer}`));
