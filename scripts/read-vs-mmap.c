/* The kernel's copy against a memory mapping, for docs/performance.md ("Why not mmap"):
 * touches every 64th byte of a file read 1 MiB at a time (mode r) or mapped (m--; mp- with
 * MAP_POPULATE, m-s with MADV_SEQUENTIAL, m-h with MADV_HUGEPAGE) and prints the time.
 *   gcc -O2 -o target/read-vs-mmap scripts/read-vs-mmap.c
 *   for m in r m-- mp- m-s m-h; do target/read-vs-mmap $m bench-data/bench-200.pcap; done */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 3 || (argv[1][0] != 'r' && argv[1][0] != 'm')) {
        fprintf(stderr, "usage: %s r|m--|mp-|m-s|m-h FILE\n", argv[0]);
        return 2;
    }
    int fd = open(argv[2], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(argv[2]);
        return 1;
    }
    size_t size = (size_t)st.st_size;
    unsigned long sum = 0;
    double start = now();
    if (argv[1][0] == 'r') {
        static unsigned char buf[1 << 20];
        ssize_t got;
        while ((got = read(fd, buf, sizeof buf)) > 0)
            for (ssize_t i = 0; i < got; i += 64) sum += buf[i];
    } else {
        int flags = MAP_PRIVATE | (argv[1][1] == 'p' ? MAP_POPULATE : 0);
        unsigned char *p = mmap(NULL, size, PROT_READ, flags, fd, 0);
        if (p == MAP_FAILED) {
            perror("mmap");
            return 1;
        }
        if (argv[1][1] && argv[1][2] == 's') madvise(p, size, MADV_SEQUENTIAL);
        if (argv[1][1] && argv[1][2] == 'h') madvise(p, size, MADV_HUGEPAGE);
        for (size_t i = 0; i < size; i += 64) sum += p[i];
        munmap(p, size);
    }
    printf("%s %.4f s (checksum %lu)\n", argv[1], now() - start, sum);
    return 0;
}
