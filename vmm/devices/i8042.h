/* i8042: just enough of the PC keyboard controller for a guest to reset
 * the machine: command 0xfe ("pulse reset line") on port 0x64 ends the VM
 * cleanly (VM_EXIT_RESET, status 0). Status reads say "no data, input
 * buffer empty" so that drivers do not wait. */
#ifndef SMOL_I8042_H
#define SMOL_I8042_H

struct vm;
struct i8042;

int i8042_create(struct vm *vm, struct i8042 **out);
void i8042_destroy(struct i8042 *k);

#endif
