/* threads: the scaling guest's workload (static, runs as a process of the guest's /init).
 *
 *   threads NPROC NTHREADS MEM_MIB
 *
 * Fills MEM_MIB of anonymous memory with data about as compressible as a kernel's (half of
 * each page pseudo-random words, half a repeating pattern; no zero pages, so a "-d 1"
 * dump keeps them), then forks NPROC processes that each start NTHREADS threads (small
 * 16 KiB stacks), which sleep in different places: nanosleep, a futex (pthread_cond_wait),
 * a pipe read and poll. Prints "threads: ready N" when every thread is up, then sleeps. */
#include <pthread.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int pipefd[2];

static void *worker(void *arg) {
	long i = (long)arg;
	char c;
	struct timespec ts = { 100000, 0 };
	switch (i % 4) {
	case 0: nanosleep(&ts, NULL); break;
	case 1: pthread_mutex_lock(&mu); pthread_cond_wait(&cv, &mu); pthread_mutex_unlock(&mu); break;
	case 2: if (read(pipefd[0], &c, 1) < 0) perror("read"); break;
	default: poll(NULL, 0, -1); break;
	}
	return NULL;
}

int main(int argc, char **argv) {
	if (argc < 4) { fprintf(stderr, "usage: threads NPROC NTHREADS MEM_MIB\n"); return 2; }
	int nproc = atoi(argv[1]), nthr = atoi(argv[2]);
	size_t mem = (size_t)atol(argv[3]) << 20;
	if (mem) {
		uint64_t *p = mmap(NULL, mem, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) { perror("mmap"); return 1; }
		uint64_t x = 0x9e3779b97f4a7c15ull;
		for (size_t w = 0; w < mem / 8; w++) {
			if ((w & 511) < 256) {
				x ^= x << 13; x ^= x >> 7; x ^= x << 17;
				p[w] = x;
			} else {
				p[w] = 0xffff888000000000ull + ((w & 511) << 6) + (w >> 9);
			}
		}
		printf("threads: filled %zu MiB\n", mem >> 20);
		fflush(stdout);
	}
	if (pipe(pipefd)) { perror("pipe"); return 1; }
	int ready[2];
	if (pipe(ready)) { perror("pipe"); return 1; }
	for (int k = 0; k < nproc; k++) {
		if (fork() == 0) {
			pthread_attr_t a;
			pthread_attr_init(&a);
			pthread_attr_setstacksize(&a, 16384);
			int made = 0;
			for (long i = 0; i < nthr; i++) {
				pthread_t t;
				if (pthread_create(&t, &a, worker, (void *)i) == 0) made++;
			}
			if (write(ready[1], &made, sizeof made) < 0) perror("write");
			for (;;) pause();
		}
	}
	long total = 0;
	for (int k = 0; k < nproc; k++) {
		int made;
		if (read(ready[0], &made, sizeof made) == sizeof made) total += made;
	}
	printf("threads: ready %ld threads in %d processes\n", total, nproc);
	fflush(stdout);
	for (;;) pause();
}
