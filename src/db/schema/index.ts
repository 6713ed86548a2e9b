export * from './users';
export * from './auth';
export * from './passkeys';
export * from './profiles';
export * from './activity';
export * from './spacetime';
export * from './oidc';
