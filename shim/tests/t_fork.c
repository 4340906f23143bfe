// SPDX-License-Identifier: GPL-2.0
/*
 * fork() while other threads are busy in malloc: the child must be able to
 * allocate (every arena lock was taken before fork and reset in the child)
 * and the parent must carry on.
 */
#include <pthread.h>
#include "shim_test.h"

static int stop;

static void *churn(void *arg)
{
	unsigned int seed = (unsigned int)(long)arg;
	void *v[64] = { 0 };
	int k;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		k = rand_r(&seed) % 64;
		free(v[k]);
		v[k] = malloc(rand_r(&seed) % 3000 + 1);
		memset(v[k], 1, 10);
	}
	for (k = 0; k < 64; k++)
		free(v[k]);
	return NULL;
}

static void *child_thread(void *arg)
{
	(void)arg;
	free(malloc(100));
	return malloc(5000);
}

TEST(fork_and_threads)
{
	pthread_t t[4];
	int i, good = 0, status;
	long n;

	for (n = 0; n < 4; n++)
		pthread_create(&t[n], NULL, churn, (void *)n);
	for (i = 0; i < 60; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			void *v[100];
			pthread_t ct;
			int j;

			alarm(300);	/* a hang, not slowness: TCG and a busy host */
			for (j = 0; j < 100; j++)
				v[j] = malloc(j * 37 + 1);
			for (j = 0; j < 100; j++)
				free(v[j]);
			free(malloc(300000));
			if (pthread_create(&ct, NULL, child_thread, NULL) || pthread_join(ct, NULL))
				_exit(2);
			_exit(0);
		}
		if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			good++;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (n = 0; n < 4; n++)
		pthread_join(t[n], NULL);
	EXPECT_TRUE(good == 60)
		TH_LOG("60 forks with 4 threads in malloc: %d children allocated and exited", good);
	free(malloc(1000));
	EXPECT_TRUE(1)
		TH_LOG("the parent allocates after the forks");
	EXPECT_TRUE(kml_malloc_check() == 0)
		TH_LOG("kml_malloc_check: every arena consistent at the end");
}

TEST_HARNESS_MAIN
