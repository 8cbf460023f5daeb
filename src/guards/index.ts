export * from './holders.js';
export * from './retry.js';
export * from './world.js';
export * from './release.js';
export * from './fitness.js';
export * from './ownership.js';
