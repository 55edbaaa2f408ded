/* bench_vmm SMOLVM [RUNS]: host-side costs of `smolvm run`, as a table.
 *
 * Boots a 9-byte guest whose first instruction writes 0 to the debug-exit
 * port, so the first vCPU exit marks the first guest instruction. For each
 * shape (memory, vCPUs) it runs smolvm RUNS times and reports the median
 * and worst of:
 *   start->guest  spawn of the smolvm process to its first vCPU exit
 *                 (CLOCK_MONOTONIC on both sides, SMOLVM_TIMINGS=1)
 *   teardown      vm_destroy() inside smolvm
 *   total         spawn to reaped exit
 *   RSS           the child's peak resident set (wait4 rusage)
 * Guest time is not measured: on PVM hosts it is emulator time. */
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct sample {
	double start_ms, teardown_ms, total_ms;
	long rss_kb;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int write_guest(const char *path)
{
	/* mov $0x501,%dx; mov $0,%al; out %al,(%dx); hlt */
	static const uint8_t code[] = {0x66, 0xba, 0x01, 0x05, 0xb0, 0x00, 0xee, 0xf4};
	struct guest_img {
		Elf64_Ehdr eh;
		Elf64_Phdr ph;
		uint8_t code[sizeof(code)];
	} img;
	memset(&img, 0, sizeof(img));
	memcpy(img.eh.e_ident, ELFMAG, SELFMAG);
	img.eh.e_ident[EI_CLASS] = ELFCLASS64;
	img.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	img.eh.e_ident[EI_VERSION] = EV_CURRENT;
	img.eh.e_type = ET_EXEC;
	img.eh.e_machine = EM_X86_64;
	img.eh.e_version = EV_CURRENT;
	img.eh.e_entry = 0x100000;
	img.eh.e_phoff = sizeof(Elf64_Ehdr);
	img.eh.e_ehsize = sizeof(Elf64_Ehdr);
	img.eh.e_phentsize = sizeof(Elf64_Phdr);
	img.eh.e_phnum = 1;
	img.ph.p_type = PT_LOAD;
	img.ph.p_flags = PF_R | PF_X;
	img.ph.p_offset = offsetof(struct guest_img, code);
	img.ph.p_paddr = img.ph.p_vaddr = 0x100000;
	img.ph.p_filesz = img.ph.p_memsz = sizeof(code);
	memcpy(img.code, code, sizeof(code));
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(&img, sizeof(img), 1, f) != 1 || fclose(f)) {
		perror(path);
		return -1;
	}
	return 0;
}

static int run_once(const char *smolvm, const char *guest, const char *mem, const char *cpus,
		    struct sample *s)
{
	char errpath[] = "/tmp/bench-vmm-err-XXXXXX";
	int efd = mkstemp(errpath);
	if (efd < 0)
		return -1;
	unlink(errpath);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, efd, STDERR_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", 0, 0);
	char *argv[] = {(char *)smolvm, "run",	     "--kernel", (char *)guest,
			"--mem",	(char *)mem, "--cpus",	 (char *)cpus,
			"--serial",	"none",	     NULL};
	setenv("SMOLVM_TIMINGS", "1", 1);
	pid_t pid;
	uint64_t t0 = now_ns();
	int err = posix_spawn(&pid, smolvm, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		fprintf(stderr, "bench_vmm: spawn %s: %s\n", smolvm, strerror(err));
		close(efd);
		return -1;
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0) {
		close(efd);
		return -1;
	}
	uint64_t t1 = now_ns();
	char buf[1024] = "";
	ssize_t n = pread(efd, buf, sizeof(buf) - 1, 0);
	close(efd);
	buf[n > 0 ? n : 0] = 0;
	unsigned long long first = 0, teardown = 0;
	const char *line = strstr(buf, "smolvm-timings:");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !line ||
	    sscanf(strstr(line, "first_exit_mono_ns="), "first_exit_mono_ns=%llu", &first) != 1 ||
	    sscanf(strstr(line, "teardown_us="), "teardown_us=%llu", &teardown) != 1 ||
	    first < t0) {
		fprintf(stderr, "bench_vmm: smolvm run failed (status 0x%x): %s\n", status, buf);
		return -1;
	}
	s->start_ms = (double)(first - t0) / 1e6;
	s->teardown_ms = (double)teardown / 1e3;
	s->total_ms = (double)(t1 - t0) / 1e6;
	s->rss_kb = ru.ru_maxrss;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void stat_of(struct sample *s, int n, size_t field, double *median, double *worst)
{
	double v[256];
	for (int i = 0; i < n; i++)
		v[i] = *(double *)((char *)&s[i] + field);
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	*median = v[n / 2];
	*worst = v[n - 1];
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_vmm SMOLVM [RUNS]\n");
		return 2;
	}
	int runs = argc > 2 ? atoi(argv[2]) : 20;
	if (runs < 1 || runs > 256)
		runs = 20;
	char guest[] = "/tmp/bench-vmm-guest-XXXXXX";
	int gfd = mkstemp(guest);
	if (gfd < 0 || write_guest(guest))
		return 1;
	close(gfd);
	static const struct {
		const char *mem, *cpus;
	} shapes[] = {{"64", "1"}, {"256", "1"}, {"256", "4"}, {"2048", "1"}};
	printf("smolvm run, %d runs per shape (median / worst)\n", runs);
	printf("%-8s %-5s | %-19s | %-19s | %-19s | %s\n", "mem MiB", "vCPUs", "start->guest ms",
	       "teardown ms", "total ms", "peak RSS MiB");
	int rc = 0;
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		struct sample s[256];
		int n = 0;
		for (int r = 0; r < runs; r++)
			if (run_once(argv[1], guest, shapes[i].mem, shapes[i].cpus, &s[n]) == 0)
				n++;
		if (n == 0) {
			rc = 1;
			continue;
		}
		double sm, sw, tm, tw, am, aw;
		stat_of(s, n, offsetof(struct sample, start_ms), &sm, &sw);
		stat_of(s, n, offsetof(struct sample, teardown_ms), &tm, &tw);
		stat_of(s, n, offsetof(struct sample, total_ms), &am, &aw);
		long rss = 0;
		for (int k = 0; k < n; k++)
			rss = s[k].rss_kb > rss ? s[k].rss_kb : rss;
		printf("%-8s %-5s | %8.2f / %8.2f | %8.2f / %8.2f | %8.2f / %8.2f | %.1f\n",
		       shapes[i].mem, shapes[i].cpus, sm, sw, tm, tw, am, aw, (double)rss / 1024.0);
	}
	unlink(guest);
	return rc;
}
