/*
 * Replays a fuzz target's seed corpus without libFuzzer, so `make check` runs
 * every seed (and every crash reproducer added to the corpus) under the
 * normal or sanitizer build. With no argument it reads SEED_DIR_BASE/
 * FUZZ_NAME.in/; otherwise each argument is a file or a directory.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = NULL;
	long size;
	int rc = -1;

	if (fp == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0)
		goto out;
	/* malloc(0) may return NULL; always ask for one byte more. */
	buf = malloc((size_t)size + 1);
	if (buf == NULL || fread(buf, 1, (size_t)size, fp) != (size_t)size)
		goto out;
	LLVMFuzzerTestOneInput(buf, (size_t)size);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "%s: cannot read\n", path);
	free(buf);
	fclose(fp);
	return rc;
}

static int run_path(const char *path, unsigned *count)
{
	struct stat st;
	struct dirent **ents = NULL;
	int n, i, rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	n = scandir(path, &ents, NULL, alphasort);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		char sub[4096];

		if (ents[i]->d_name[0] != '.' &&
		    (size_t)snprintf(sub, sizeof(sub), "%s/%s", path, ents[i]->d_name) <
			    sizeof(sub) &&
		    run_path(sub, count) != 0)
			rc = -1;
		free(ents[i]);
	}
	free(ents);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned count = 0;
	int rc = 0, i;

	if (argc < 2) {
		rc = run_path(SEED_DIR_BASE "/" FUZZ_NAME ".in", &count);
	} else {
		for (i = 1; i < argc; i++)
			if (run_path(argv[i], &count) != 0)
				rc = -1;
	}
	printf("%s: %u inputs replayed\n", FUZZ_NAME, count);
	if (count == 0) {
		fprintf(stderr, "%s: no seed inputs found\n", FUZZ_NAME);
		return 1;
	}
	return rc == 0 ? 0 : 1;
}
