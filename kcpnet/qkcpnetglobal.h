// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#ifndef QKCPNETGLOBAL_H
#define QKCPNETGLOBAL_H

#include <QtCore/qglobal.h>

#if defined(KCPNET_STATIC)
#  define Q_KCPNET_EXPORT
#elif defined(KCPNET_BUILDING_LIBRARY)
#  define Q_KCPNET_EXPORT Q_DECL_EXPORT
#else
#  define Q_KCPNET_EXPORT Q_DECL_IMPORT
#endif

#define KCPNET_VERSION_STR "0.1.0"

#endif // QKCPNETGLOBAL_H
