/**
 * PyMD's post-login Action. Auth0 runs it at every login and at every refresh-token exchange;
 * the PyMD dev tenant runs this same file.
 *
 * 1. Syncs the user to PyMD (POST {SYNC_URL}, the app's /internal/auth/sync-user). A failure is
 *    logged and never blocks the login.
 * 2. Gives a user who holds no role the default role `user`, through the Management API with
 *    the M2M client's credentials (Auth0 has no "default role"; this is its documented way).
 *    A failure is logged and never blocks the login.
 * 3. Puts the user's roles on the ID and access tokens as https://pymd.io/roles. A role given
 *    in step 2 is not yet in event.authorization.roles, so it is added here by hand.
 *
 * Secrets: SYNC_URL, BACKEND_INTERNAL_TOKEN (PyMD's INTERNAL_API_TOKEN), TENANT_URL (the
 * tenant's canonical https://TENANT.REGION.auth0.com/, ending in "/"), M2M_CLIENT_ID and
 * M2M_CLIENT_SECRET (a client granted read:roles and create:role_members on the Management API).
 * Dependencies: axios.
 */
const axios = require('axios');

const ROLES_CLAIM = 'https://pymd.io/roles';
const DEFAULT_ROLE = 'user';
const TIMEOUT_MS = 3000;

async function syncUser(event) {
  const { user, secrets } = event;
  await axios.post(
    secrets.SYNC_URL,
    {
      auth0Id: user.user_id,
      email: user.email,
      name: user.name,
      picture: user.picture,
      emailVerified: user.email_verified,
    },
    {
      headers: { Authorization: `Bearer ${secrets.BACKEND_INTERNAL_TOKEN}` },
      timeout: TIMEOUT_MS,
    },
  );
}

async function managementApi(secrets) {
  const base = secrets.TENANT_URL.endsWith('/') ? secrets.TENANT_URL : `${secrets.TENANT_URL}/`;
  const token = await axios.post(
    `${base}oauth/token`,
    new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: secrets.M2M_CLIENT_ID,
      client_secret: secrets.M2M_CLIENT_SECRET,
      audience: `${base}api/v2/`,
    }),
    { timeout: TIMEOUT_MS },
  );
  return axios.create({
    baseURL: `${base}api/v2/`,
    headers: { Authorization: `Bearer ${token.data.access_token}` },
    timeout: TIMEOUT_MS,
  });
}

async function giveDefaultRole(event) {
  const api = await managementApi(event.secrets);
  const found = await api.get('roles', { params: { name_filter: DEFAULT_ROLE } });
  const role = found.data.find((r) => r.name === DEFAULT_ROLE);
  if (!role) throw new Error(`the tenant has no role named "${DEFAULT_ROLE}"`);
  await api.post(`users/${encodeURIComponent(event.user.user_id)}/roles`, { roles: [role.id] });
}

exports.onExecutePostLogin = async (event, api) => {
  let roles = (event.authorization && event.authorization.roles) || [];
  const refreshing = event.transaction && event.transaction.protocol === 'oauth2-refresh-token';
  if (!refreshing) {
    try {
      await syncUser(event);
    } catch (err) {
      console.error(`PyMD sync-user failed, the login goes on: ${err.message}`);
    }
    if (roles.length === 0) {
      try {
        await giveDefaultRole(event);
        roles = [DEFAULT_ROLE];
      } catch (err) {
        console.error(`giving the default role failed, the login goes on: ${err.message}`);
      }
    }
  }
  api.idToken.setCustomClaim(ROLES_CLAIM, roles);
  api.accessToken.setCustomClaim(ROLES_CLAIM, roles);
};
