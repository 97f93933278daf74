/* The handler's large static buffers (store.h). */
#include "store.h"

struct handler_store handler_store STORE_ALIGNED;
