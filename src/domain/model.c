/* Lifecycle helpers of the model's records. */
#include "domain/model.h"

#include <stdlib.h>

void binding_release(struct binding *b)
{
    free(b->goods_json);
    b->goods_json = NULL;
}
