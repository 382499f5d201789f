/*
 * Fuzz target for the config file parser: the input becomes the -c file of
 * config_build. The upstream is given on the command line so that no
 * resolv.conf is read, and the environment is empty, so the input alone
 * decides the outcome. A successful build is printed (to /dev/null) to
 * cover config_print as well.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Spelled out so that no autoconf-generated config.h can shadow it. */
#include "../../resolver/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[] = "/tmp/fuzz_config.XXXXXX";
static int fd = -1;
static FILE *devnull;

static void cleanup(void)
{
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	if (devnull != NULL)
		fclose(devnull);
}

/* Creates the input file once; every run rewrites it. */
static int init(void)
{
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	devnull = fopen("/dev/null", "w");
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[] = {"loki-resolver", "-c", path, "--upstream", "192.0.2.1", NULL};
	char *const envp[] = {NULL};
	struct config *cfg = NULL;
	struct config_cli cli;
	char err[512];
	size_t off = 0;
	ssize_t n;

	if (fd < 0 && init() != 0)
		return 0;
	if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
		return 0;
	while (off < size) {
		n = write(fd, data + off, size - off);
		if (n <= 0)
			return 0;
		off += (size_t)n;
	}
	if (config_build(5, argv, envp, "/nonexistent/resolv.conf", &cfg, &cli, err, sizeof(err)) ==
		    0 &&
	    devnull != NULL)
		config_print(cfg, devnull);
	config_free(cfg);
	return 0;
}
