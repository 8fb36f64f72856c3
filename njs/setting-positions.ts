// Generated from EDGE_SETTINGS (config.ts), the one source of the settings;
// regenerate with: UPDATE_DOCS=1 npx vitest run test/unit/njs/setting-positions.test.ts
//
// Where each setting sits in the settings snapshot (nginx/protect-common.conf
// and nginx/server.conf join the values with "\n" in EDGE_SETTINGS order), as
// plain constants: the per-request module reads the snapshot by position
// without holding the settings table, whose construction the njs engine
// would repeat in every request's VM (see full-check-loader.ts).

/** How many values a settings snapshot holds. */
export const SETTING_COUNT = 22;

/** $ljwt_jwks_file */
export const JWKS_FILE = 0;
/** $ljwt_pem_files */
export const PEM_FILES = 1;
/** $ljwt_jwks_location */
export const JWKS_LOCATION = 2;
/** $ljwt_algorithms */
export const ALGORITHMS = 3;
/** $ljwt_issuer */
export const ISSUER = 4;
/** $ljwt_audience */
export const AUDIENCE = 5;
/** $ljwt_leeway */
export const LEEWAY = 6;
/** $ljwt_typ */
export const TYP = 7;
/** $ljwt_required_claims */
export const REQUIRED_CLAIMS = 8;
/** $ljwt_max_token_length */
export const MAX_TOKEN_LENGTH = 9;
/** $ljwt_cookie */
export const COOKIE = 10;
/** $ljwt_user_claim */
export const USER_CLAIM = 11;
/** $ljwt_claim_map */
export const CLAIM_MAP = 12;
/** $ljwt_login_url */
export const LOGIN_URL = 13;
/** $ljwt_return_param */
export const RETURN_PARAM = 14;
/** $ljwt_realm */
export const REALM = 15;
/** $ljwt_require_any_group */
export const REQUIRE_ANY_GROUP = 16;
/** $ljwt_require_all_groups */
export const REQUIRE_ALL_GROUPS = 17;
/** $ljwt_require_scope */
export const REQUIRE_SCOPE = 18;
/** $ljwt_require_claim */
export const REQUIRE_CLAIM = 19;
/** $ljwt_cache_max_age */
export const CACHE_MAX_AGE = 20;
/** $ljwt_pass_authorization */
export const PASS_AUTHORIZATION = 21;
