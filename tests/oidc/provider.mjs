// A real OpenID provider for Arbiter's single sign-on tests (tests/sso/conftest.py starts it).
//
//   PORT=9000 OIDC_USERS_FILE=users.json node provider.mjs
//
// Issuer http://127.0.0.1:$PORT, one confidential client (arbiter / arbiter-test-secret, PKCE S256 required),
// the development login form (any password; the login name is the account), no consent screen. Accounts and
// their claims are read from OIDC_USERS_FILE at every request, so a test changes someone's groups between two
// sign-ins by rewriting the file: {"alice": {"preferred_username": "alice", "email": "...", "groups": [...]}}.
import fs from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const usersFile = process.env.OIDC_USERS_FILE;
const readUsers = () => JSON.parse(fs.readFileSync(usersFile, 'utf8'));

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'arbiter',
    client_secret: 'arbiter-test-secret',
    redirect_uris: ['http://127.0.0.1/sso/oidc/callback/'],
    post_logout_redirect_uris: ['http://127.0.0.1/accounts/login/'],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { methods: ['S256'], required: () => true },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['preferred_username', 'given_name', 'family_name'],
    groups: ['groups'],
  },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  cookies: { keys: ['arbiter-test-cookie-key'] },
  async findAccount(ctx, id) {
    const user = readUsers()[id];
    if (!user) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...user }) };
  },
  // No consent screen: the client is granted what it asks for.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile groups');
    await grant.save();
    return grant;
  },
});

// The tests' Arbiter runs on a port chosen at run time (the live server) or as Django's test client.
const allowed = (uri) => /^http:\/\/(testserver|localhost|127\.0\.0\.1)(:\d+)?\//.test(uri);
provider.Client.prototype.redirectUriAllowed = allowed;
provider.Client.prototype.postLogoutRedirectUriAllowed = allowed;

provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
