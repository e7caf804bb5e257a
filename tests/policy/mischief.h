/* The policy cookies that pick a trick of tests/policy/mischief.bpf.c. */
#ifndef DBK_TEST_MISCHIEF_H
#define DBK_TEST_MISCHIEF_H

#define MISCHIEF_UNMEDIATE	0x6d690001ULL
#define MISCHIEF_BAREGUARD	0x6d690002ULL
#define MISCHIEF_REWRITE	0x6d690003ULL
#define MISCHIEF_EDIT		0x6d690004ULL
#define MISCHIEF_ERRNO		0x6d690005ULL
#define MISCHIEF_SPIN		0x6d690006ULL

#endif
