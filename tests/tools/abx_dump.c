/* abx_dump FILE: prints an ABX file as text XML with the agent's decoder, so tests can
 * compare it with the XML the file was made from. */
#include "android/mtd_xmlev.h"
#include "common/mtd_file.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    uint8_t *d;
    size_t n, xl;
    char *x, why[256];
    if (argc != 2 || mtd_file_read(argv[1], 64u << 20, &d, &n) != 0) {
        fprintf(stderr, "usage: abx_dump FILE\n");
        return 2;
    }
    if (mtd_abx_to_xml(d, n, &x, &xl, why, sizeof why) != 0) {
        fprintf(stderr, "abx_dump: %s\n", why);
        return 1;
    }
    fwrite(x, 1, xl, stdout);
    free(x);
    free(d);
    return 0;
}
