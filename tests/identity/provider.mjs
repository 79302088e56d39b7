// Real OpenID providers for Countersign's identity tests: oidc-provider (an
// OpenID-certified server), one per organisation, each on its own address.
// Usage: node provider.mjs CONFIG.json — prints "ready" once every provider listens.
// CONFIG: {"jwk": <private RS256 JWK>, "providers": [{"issuer", "host", "port",
//          "clients": [...client metadata], "accounts": {"<login>": {claims}}}]}
// The dev login form takes any password: an account is its login (`accounts`).
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
let listening = 0;

for (const spec of config.providers) {
  const provider = new Provider(spec.issuer, {
    clients: spec.clients,
    jwks: { keys: [config.jwk] },
    cookies: { keys: [`countersign-tests-${spec.port}`] },
    pkce: { required: () => true },
    // The role claim ("groups") travels in the ID token, as enterprise providers send it.
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'],
    },
    features: { devInteractions: { enabled: true } },
    async findAccount(ctx, id) {
      const claims = spec.accounts[id];
      if (!claims) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...claims }; } };
    },
    // First-party clients: the organisation has consented for its people (no consent screen).
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope(ctx.oidc.params.scope);
      grant.addOIDCClaims(['email', 'email_verified', 'name', 'groups']);
      await grant.save();
      return grant;
    },
  });
  provider.on('server_error', (ctx, error) => console.error('server_error', error));
  provider.listen(spec.port, spec.host, () => {
    listening += 1;
    if (listening === config.providers.length) console.log('ready');
  });
}
