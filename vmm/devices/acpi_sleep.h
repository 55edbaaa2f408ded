/* ACPI sleep control and status registers (ACPI 6.5 §4.8.3.7, §4.8.3.8):
 * how a HW-reduced ACPI guest powers off. The FADT names the two I/O
 * ports (X86_ACPI_SLEEP_PORT, +1) and the DSDT's \_S5_ gives the sleep
 * type; Linux's acpi_power_off() then writes SLP_TYP | SLP_EN to the
 * control register, and the VM stops cleanly (VM_EXIT_RESET, status 0).
 * Without it a guest's poweroff only halts its CPUs and the VMM runs on. */
#ifndef SMOLVM_DEVICES_ACPI_SLEEP_H
#define SMOLVM_DEVICES_ACPI_SLEEP_H

#include <stdint.h>

struct vm;
struct acpi_sleep;

/* The \_S5_ sleep type (SLP_TYPa) the DSDT advertises. */
#define ACPI_SLEEP_TYPE_S5 5u

/* Decodes a byte written to the sleep control register: 1 when it asks
 * for S5 (SLP_EN set, SLP_TYP = ACPI_SLEEP_TYPE_S5), else 0. */
int acpi_sleep_is_poweroff(uint8_t control);

/* Registers the two ports on vm's PIO bus. vm is borrowed. */
int acpi_sleep_create(struct vm *vm, struct acpi_sleep **out);

/* Unregisters and frees; NULL is a no-op. */
void acpi_sleep_destroy(struct acpi_sleep *s);

#endif
