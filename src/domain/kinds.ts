/** Names the configuration allows, kept free of imports so loading the config stays fast. */
export const MAPPER_KINDS = ['krbd', 'rbd-nbd', 'fuse'] as const;
export type MapperKind = (typeof MAPPER_KINDS)[number];

export const FSCK_POLICIES = ['auto', 'force', 'never'] as const;
export type FsckPolicy = (typeof FSCK_POLICIES)[number];
