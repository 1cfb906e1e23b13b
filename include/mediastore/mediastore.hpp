// Umbrella header of the libmediastore C++ API.
#pragma once

#include "mediastore/config.hpp"
#include "mediastore/direct.hpp"
#include "mediastore/export.hpp"
#include "mediastore/grant.hpp"
#include "mediastore/log.hpp"
#include "mediastore/media.hpp"
#include "mediastore/migrate.hpp"
#include "mediastore/queue.hpp"
#include "mediastore/scan.hpp"
#include "mediastore/status.hpp"
#include "mediastore/storage.hpp"
#include "mediastore/upload.hpp"
#include "mediastore/version.hpp"
