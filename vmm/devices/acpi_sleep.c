/* ACPI sleep control/status registers (acpi_sleep.h). */
#include "devices/acpi_sleep.h"

#include "arch/x86_64/layout.h"
#include "core/iobus.h"
#include "smolvm/vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ACPI 6.5 §4.8.3.7 Sleep Control Register: bits 4:2 SLP_TYPx, bit 5
 * SLP_EN; the other bits are reserved and ignored. */
#define SLP_TYP_SHIFT 2
#define SLP_TYP_MASK  0x7u
#define SLP_EN	      (1u << 5)

struct acpi_sleep {
	struct vm *vm;
};

int acpi_sleep_is_poweroff(uint8_t control)
{
	return (control & SLP_EN) &&
	       ((control >> SLP_TYP_SHIFT) & SLP_TYP_MASK) == ACPI_SLEEP_TYPE_S5;
}

static void acpi_sleep_io(void *opaque, uint64_t off, void *data, uint32_t len, bool is_write)
{
	struct acpi_sleep *s = opaque;
	if (!is_write) {
		/* §4.8.3.8 Sleep Status Register: WAK_STS (bit 7) stays clear,
		 * as nothing ever wakes from S5; the control register reads 0. */
		memset(data, 0, len);
		return;
	}
	/* Only a write to the control register (offset 0) with SLP_EN for S5
	 * does anything; other sleep states are not offered in the DSDT. */
	if (off == 0 && acpi_sleep_is_poweroff(*(const uint8_t *)data))
		vm_stop(s->vm, VM_EXIT_RESET, 0, "guest powered off (ACPI S5)");
}

int acpi_sleep_create(struct vm *vm, struct acpi_sleep **out)
{
	struct acpi_sleep *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->vm = vm;
	int err = iobus_register(vm_pio_bus(vm), X86_ACPI_SLEEP_PORT, 2, acpi_sleep_io, s);
	if (err) {
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

void acpi_sleep_destroy(struct acpi_sleep *s)
{
	if (!s)
		return;
	iobus_unregister(vm_pio_bus(s->vm), X86_ACPI_SLEEP_PORT);
	free(s);
}
