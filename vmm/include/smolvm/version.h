#ifndef SMOLVM_VERSION_H
#define SMOLVM_VERSION_H
/* The libsmolvm version string (same as smoltest's). Borrowed, static. */
const char *smolvm_version(void);
#endif
