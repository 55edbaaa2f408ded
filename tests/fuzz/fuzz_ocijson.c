/* Fuzz target for the JSON readers of `smoltest image rootfs` (docker-save
 * manifest.json, OCI index.json and image manifests), all fed the same bytes. */
#include "ocijson.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char **list = NULL, *path = NULL, err[300];
	size_t n = 0;
	int is_index;
	const char *json = (const char *)data;
	if (oci_docker_layers(json, size, &list, &n, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < n; i++)
			(void)strlen(list[i]);
		oci_free_list(list, n);
	}
	if (oci_index_pick(json, size, &path, &is_index, err, sizeof(err)) == 0)
		free(path);
	if (oci_manifest_layers(json, size, &list, &n, err, sizeof(err)) == 0)
		oci_free_list(list, n);
	return 0;
}
