/* Shared by the MPI check programs that move large payloads: byte i of a payload made
 * with seed s, so that a check can name the first wrong byte. */
#ifndef PAYLOAD_H
#define PAYLOAD_H

static inline char pattern(long i, int seed) {
    return (char)((i * 131 + seed * 17 + (i >> 12)) & 0xff);
}
static inline void fill(char* buf, long n, int seed) {
    for (long i = 0; i < n; ++i) buf[i] = pattern(i, seed);
}
/* The index of the first byte that is not the pattern's, or -1. */
static inline long first_wrong(const char* buf, long n, int seed) {
    for (long i = 0; i < n; ++i)
        if (buf[i] != pattern(i, seed)) return i;
    return -1;
}
#endif
