#pragma once
#define HIT_VERSION "0.1.0"
