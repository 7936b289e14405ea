/* Lifecycle helpers of the model's records. */
#include "domain/model.h"

#include <stdlib.h>

void binding_release(struct binding *b)
{
    free(b->goods_json);
    b->goods_json = NULL;
}

const char *notice_state_name(enum notice_state state)
{
    switch (state) {
    case NOTICE_DELIVERED:
        return "delivered";
    case NOTICE_DEAD:
        return "dead";
    default:
        return "pending";
    }
}
