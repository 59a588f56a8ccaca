/* mtd_ios_models: Apple product types ("iPhone9,3") and the names people know them
 * by ("iPhone 7"), with their chips. Written by hand: Apple publishes the pairs
 * (support.apple.com "Identify your iPhone model") but no Debian package carries
 * them, and libimobiledevice reports only the product type. A type missing here is
 * reported as the product type alone, never guessed. */
#include "ios/mtd_ios.h"

#include <string.h>

static const struct {
    const char *type, *name, *chip;
} models[] = {
    {"iPhone1,1", "iPhone", "Samsung S5L8900"}, {"iPhone1,2", "iPhone 3G", "Samsung S5L8900"},
    {"iPhone2,1", "iPhone 3GS", "Samsung S5PC100"},
    {"iPhone3,1", "iPhone 4", "Apple A4"}, {"iPhone3,2", "iPhone 4", "Apple A4"},
    {"iPhone3,3", "iPhone 4", "Apple A4"}, {"iPhone4,1", "iPhone 4S", "Apple A5"},
    {"iPhone5,1", "iPhone 5", "Apple A6"}, {"iPhone5,2", "iPhone 5", "Apple A6"},
    {"iPhone5,3", "iPhone 5c", "Apple A6"}, {"iPhone5,4", "iPhone 5c", "Apple A6"},
    {"iPhone6,1", "iPhone 5s", "Apple A7"}, {"iPhone6,2", "iPhone 5s", "Apple A7"},
    {"iPhone7,2", "iPhone 6", "Apple A8"}, {"iPhone7,1", "iPhone 6 Plus", "Apple A8"},
    {"iPhone8,1", "iPhone 6s", "Apple A9"}, {"iPhone8,2", "iPhone 6s Plus", "Apple A9"},
    {"iPhone8,4", "iPhone SE", "Apple A9"},
    {"iPhone9,1", "iPhone 7", "Apple A10 Fusion"}, {"iPhone9,3", "iPhone 7", "Apple A10 Fusion"},
    {"iPhone9,2", "iPhone 7 Plus", "Apple A10 Fusion"}, {"iPhone9,4", "iPhone 7 Plus", "Apple A10 Fusion"},
    {"iPhone10,1", "iPhone 8", "Apple A11 Bionic"}, {"iPhone10,4", "iPhone 8", "Apple A11 Bionic"},
    {"iPhone10,2", "iPhone 8 Plus", "Apple A11 Bionic"}, {"iPhone10,5", "iPhone 8 Plus", "Apple A11 Bionic"},
    {"iPhone10,3", "iPhone X", "Apple A11 Bionic"}, {"iPhone10,6", "iPhone X", "Apple A11 Bionic"},
    {"iPhone11,2", "iPhone XS", "Apple A12 Bionic"}, {"iPhone11,4", "iPhone XS Max", "Apple A12 Bionic"},
    {"iPhone11,6", "iPhone XS Max", "Apple A12 Bionic"}, {"iPhone11,8", "iPhone XR", "Apple A12 Bionic"},
    {"iPhone12,1", "iPhone 11", "Apple A13 Bionic"}, {"iPhone12,3", "iPhone 11 Pro", "Apple A13 Bionic"},
    {"iPhone12,5", "iPhone 11 Pro Max", "Apple A13 Bionic"},
    {"iPhone12,8", "iPhone SE (2nd generation)", "Apple A13 Bionic"},
    {"iPhone13,1", "iPhone 12 mini", "Apple A14 Bionic"}, {"iPhone13,2", "iPhone 12", "Apple A14 Bionic"},
    {"iPhone13,3", "iPhone 12 Pro", "Apple A14 Bionic"}, {"iPhone13,4", "iPhone 12 Pro Max", "Apple A14 Bionic"},
    {"iPhone14,4", "iPhone 13 mini", "Apple A15 Bionic"}, {"iPhone14,5", "iPhone 13", "Apple A15 Bionic"},
    {"iPhone14,2", "iPhone 13 Pro", "Apple A15 Bionic"}, {"iPhone14,3", "iPhone 13 Pro Max", "Apple A15 Bionic"},
    {"iPhone14,6", "iPhone SE (3rd generation)", "Apple A15 Bionic"},
    {"iPhone14,7", "iPhone 14", "Apple A15 Bionic"}, {"iPhone14,8", "iPhone 14 Plus", "Apple A15 Bionic"},
    {"iPhone15,2", "iPhone 14 Pro", "Apple A16 Bionic"}, {"iPhone15,3", "iPhone 14 Pro Max", "Apple A16 Bionic"},
    {"iPhone15,4", "iPhone 15", "Apple A16 Bionic"}, {"iPhone15,5", "iPhone 15 Plus", "Apple A16 Bionic"},
    {"iPhone16,1", "iPhone 15 Pro", "Apple A17 Pro"}, {"iPhone16,2", "iPhone 15 Pro Max", "Apple A17 Pro"},
    {"iPhone17,3", "iPhone 16", "Apple A18"}, {"iPhone17,4", "iPhone 16 Plus", "Apple A18"},
    {"iPhone17,1", "iPhone 16 Pro", "Apple A18 Pro"}, {"iPhone17,2", "iPhone 16 Pro Max", "Apple A18 Pro"},
    {"iPhone17,5", "iPhone 16e", "Apple A18"},
    {"iPod9,1", "iPod touch (7th generation)", "Apple A10 Fusion"},
    {"iPad7,11", "iPad (7th generation)", "Apple A10 Fusion"}, {"iPad7,12", "iPad (7th generation)", "Apple A10 Fusion"},
    {"iPad11,6", "iPad (8th generation)", "Apple A12 Bionic"}, {"iPad11,7", "iPad (8th generation)", "Apple A12 Bionic"},
    {"iPad12,1", "iPad (9th generation)", "Apple A13 Bionic"}, {"iPad12,2", "iPad (9th generation)", "Apple A13 Bionic"},
    {"iPad13,18", "iPad (10th generation)", "Apple A14 Bionic"}, {"iPad13,19", "iPad (10th generation)", "Apple A14 Bionic"},
    {"iPad13,1", "iPad Air (4th generation)", "Apple A14 Bionic"}, {"iPad13,2", "iPad Air (4th generation)", "Apple A14 Bionic"},
    {"iPad13,16", "iPad Air (5th generation)", "Apple M1"}, {"iPad13,17", "iPad Air (5th generation)", "Apple M1"},
    {"iPad14,1", "iPad mini (6th generation)", "Apple A15 Bionic"}, {"iPad14,2", "iPad mini (6th generation)", "Apple A15 Bionic"},
};

const char *mtd_ios_model_name(const char *product_type, const char **chip)
{
    if (chip)
        *chip = NULL;
    for (size_t i = 0; product_type && i < sizeof models / sizeof models[0]; i++)
        if (!strcmp(models[i].type, product_type)) {
            if (chip)
                *chip = models[i].chip;
            return models[i].name;
        }
    return NULL;
}
