/* lqr: the libqrencode anchor of BENCHMARKS.md "QR (issue 15)". Encodes a
 * SMART Health Card QR text (a file holding "shc:/" + digits) N times as
 * the project's encoder does: level L, smallest version, a byte segment
 * "shc:/" and a numeric segment. A measurement tool only (not built by
 * the module or CI):
 *   cc -O2 -o /tmp/lqr.bin scripts/lqr.c -lqrencode
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null /tmp/lqr.bin N FILE
 * Instructions per encode = (count at N=201 - count at N=101) / 100. */
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
	static char text[8192];
	FILE *f = argc == 3 ? fopen(argv[2], "r") : NULL;
	if (f == NULL) { fprintf(stderr, "usage: lqr N FILE\n"); return 2; }
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	while (n > 0 && (text[n-1] == '\n' || text[n-1] == '\r')) text[--n] = 0;
	if (n < 6 || strncmp(text, "shc:/", 5) != 0) { fprintf(stderr, "lqr: not a shc:/ text\n"); return 2; }
	int version = 0;
	for (int i = atoi(argv[1]); i > 0; i--) {
		QRinput *in = QRinput_new2(0, QR_ECLEVEL_L);
		if (in == NULL || QRinput_append(in, QR_MODE_8, 5, (unsigned char *)text) != 0 ||
		    QRinput_append(in, QR_MODE_NUM, (int)n - 5, (unsigned char *)text + 5) != 0) { perror("lqr"); return 1; }
		QRcode *qr = QRcode_encodeInput(in);
		if (qr == NULL) { perror("lqr: encode"); return 1; }
		version = qr->version;
		QRcode_free(qr);
		QRinput_free(in);
	}
	printf("version %d\n", version);
	return 0;
}
