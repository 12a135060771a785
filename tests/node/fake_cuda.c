/* A stand-in for the CUDA driver library (libcuda.so.1), for testing GPU detection on machines
 * without a GPU. It exports the driver API calls kura-node resolves, with the signatures of
 * cuda.h, and behaves as the environment says:
 *
 *   KURA_FAKE_CUDA_INIT_ERROR    cuInit returns this CUresult (default 0, success)
 *   KURA_FAKE_CUDA_DEVICES       how many devices there are (default 0)
 *   KURA_FAKE_CUDA_NAME          every device's name (default "Fake GPU")
 *   KURA_FAKE_CUDA_MEMORY_BYTES  every device's memory (default 80 GiB)
 *
 * Device i has the UUID fa4e0000-0000-0000-0000-0000000000<i>. Built a second time with
 * KURA_FAKE_CUDA_WITHOUT_UUID, it lacks cuDeviceGetUuid and cuDeviceGetUuid_v2, as a driver too
 * old for kura would. */

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;
typedef struct {
  char bytes[16];
} CUuuid;

enum {
  kSuccess = 0,
  kInvalidValue = 1,
  kNotInitialized = 3,
  kInvalidDevice = 101,
};

static int initialized;

static long EnvNumber(const char* name, long fallback) {
  const char* value = getenv(name);
  return value != NULL && *value != '\0' ? strtol(value, NULL, 10) : fallback;
}

static int DeviceCount(void) { return (int)EnvNumber("KURA_FAKE_CUDA_DEVICES", 0); }

static CUresult CheckDevice(CUdevice device) {
  if (!initialized) return kNotInitialized;
  return device >= 0 && device < DeviceCount() ? kSuccess : kInvalidDevice;
}

CUresult cuInit(unsigned int flags) {
  if (flags != 0) return kInvalidValue;
  CUresult error = (CUresult)EnvNumber("KURA_FAKE_CUDA_INIT_ERROR", 0);
  initialized = error == kSuccess;
  return error;
}

CUresult cuGetErrorName(CUresult error, const char** name) {
  switch (error) {
    case 100:
      *name = "CUDA_ERROR_NO_DEVICE";
      return kSuccess;
    case 999:
      *name = "CUDA_ERROR_UNKNOWN";
      return kSuccess;
    default:
      return kInvalidValue;
  }
}

CUresult cuDriverGetVersion(int* version) {
  *version = 13000;
  return kSuccess;
}

CUresult cuDeviceGetCount(int* count) {
  if (!initialized) return kNotInitialized;
  *count = DeviceCount();
  return kSuccess;
}

CUresult cuDeviceGet(CUdevice* device, int ordinal) {
  CUresult r = CheckDevice(ordinal);
  if (r == kSuccess) *device = ordinal;
  return r;
}

CUresult cuDeviceGetName(char* name, int length, CUdevice device) {
  CUresult r = CheckDevice(device);
  if (r != kSuccess) return r;
  const char* value = getenv("KURA_FAKE_CUDA_NAME");
  if (value == NULL) value = "Fake GPU";
  if (length <= 0) return kInvalidValue;
  strncpy(name, value, (size_t)length - 1);
  name[length - 1] = '\0';
  return kSuccess;
}

CUresult cuDeviceTotalMem_v2(size_t* bytes, CUdevice device) {
  CUresult r = CheckDevice(device);
  if (r == kSuccess) *bytes = (size_t)EnvNumber("KURA_FAKE_CUDA_MEMORY_BYTES", 80L << 30);
  return r;
}

#ifndef KURA_FAKE_CUDA_WITHOUT_UUID
CUresult cuDeviceGetUuid_v2(CUuuid* uuid, CUdevice device) {
  CUresult r = CheckDevice(device);
  if (r != kSuccess) return r;
  memset(uuid->bytes, 0, sizeof(uuid->bytes));
  uuid->bytes[0] = (char)0xfa;
  uuid->bytes[1] = 0x4e;
  uuid->bytes[15] = (char)device;
  return kSuccess;
}

CUresult cuDeviceGetUuid(CUuuid* uuid, CUdevice device) { return cuDeviceGetUuid_v2(uuid, device); }
#endif
