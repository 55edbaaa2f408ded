/* debugexit: a test device. Writing value V to I/O port 0x501 ends the VM
 * with exit status V & 0xff (VM_EXIT_DEBUG_PORT). Reads return zero. */
#ifndef SMOL_DEBUGEXIT_H
#define SMOL_DEBUGEXIT_H

struct vm;
struct debugexit;

int debugexit_create(struct vm *vm, struct debugexit **out);
void debugexit_destroy(struct debugexit *d);

#endif
