/* A stand-in for the CUDA driver, for generating and compiling GeNN's CUDA code on a machine
 * without a GPU (bench/gpu_build.py --device genn, tests/test_gpu_build.py). Never for running.
 *
 * GeNN 4.9's code generator asks the CUDA runtime for the chosen device's properties (compute
 * capability, limits) and links against the driver library (libcuda.so.1), which a machine
 * without an NVIDIA driver does not have. This library is both:
 *   - libcuda.so.1 (found through LD_LIBRARY_PATH/LIBRARY_PATH): every driver function GeNN's
 *     CUDA backend references, each answering CUDA_ERROR_NO_DEVICE;
 *   - preloaded (LD_PRELOAD): cudaGetDeviceCount/SetDevice/GetDevice/GetDeviceProperties/
 *     DeviceGetPCIBusId/RuntimeGetVersion/DriverGetVersion answer for one device of compute capability
 *     NOGPU_CC_MAJOR.NOGPU_CC_MINOR (environment; default 9.0, an H200's sm_90 with its limits),
 *     so the generator builds a backend for it. Every other runtime call goes to the real
 *     libcudart, which then finds no driver and fails: nothing can run by accident.
 * GeNN's automatic device and block-size selection compile and load kernels on the GPU
 * (cuModuleLoad); with this library they fail, so builds use manual block sizes
 * (LOCALLEARN_GENN_BLOCK_SIZE).
 *
 * Build: gcc -shared -fPIC -I$CUDA_PATH/include -Wl,-soname,libcuda.so.1 nogpu_cuda.c -o DIR/libcuda.so.1
 */
#include <stdlib.h>
#include <string.h>
#include <cuda.h>
#include <cuda_runtime_api.h>

static int env_int(const char *name, int fallback)
{
    const char *v = getenv(name);
    return (v && *v) ? atoi(v) : fallback;
}

/* ---- runtime (preloaded over libcudart) ---- */
cudaError_t cudaGetDeviceCount(int *count) { *count = 1; return cudaSuccess; }
cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : cudaErrorInvalidDevice; }
cudaError_t cudaGetDevice(int *device) { *device = 0; return cudaSuccess; }
cudaError_t cudaRuntimeGetVersion(int *v) { *v = CUDART_VERSION; return cudaSuccess; }
cudaError_t cudaDriverGetVersion(int *v) { *v = CUDA_VERSION; return cudaSuccess; }
cudaError_t cudaDeviceGetPCIBusId(char *id, int len, int device)
{   /* written into GeNN's runner to find the device again: a bus that no GPU has */
    if (device != 0 || len < 13) return cudaErrorInvalidValue;
    strncpy(id, "0000:ff:1f.7", (size_t)len);
    return cudaSuccess;
}

static cudaError_t fill_properties(struct cudaDeviceProp *p, int device)
{
    if (device != 0) return cudaErrorInvalidDevice;
    memset(p, 0, sizeof(*p));
    strncpy(p->name, "no GPU: locallearn build-only stand-in", sizeof(p->name) - 1);
    p->major = env_int("NOGPU_CC_MAJOR", 9);
    p->minor = env_int("NOGPU_CC_MINOR", 0);
    p->totalGlobalMem = (size_t)141 << 30;       /* H200: 141 GB HBM3e */
    p->totalConstMem = 64 * 1024;
    p->sharedMemPerBlock = 48 * 1024;
    p->sharedMemPerBlockOptin = 227 * 1024;
    p->sharedMemPerMultiprocessor = 228 * 1024;
    p->regsPerBlock = 65536;
    p->regsPerMultiprocessor = 65536;
    p->warpSize = 32;
    p->maxThreadsPerBlock = 1024;
    p->maxThreadsPerMultiProcessor = 2048;
    p->maxThreadsDim[0] = 1024; p->maxThreadsDim[1] = 1024; p->maxThreadsDim[2] = 64;
    p->maxGridSize[0] = 2147483647; p->maxGridSize[1] = 65535; p->maxGridSize[2] = 65535;
    p->multiProcessorCount = 132;
    p->canMapHostMemory = 1;
    p->unifiedAddressing = 1;
    p->memoryBusWidth = 6144;
    p->l2CacheSize = 50 * 1024 * 1024;
    return cudaSuccess;
}

#ifdef cudaGetDeviceProperties
#undef cudaGetDeviceProperties
#endif
cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *p, int device)
{
    return fill_properties(p, device);
}
cudaError_t cudaGetDeviceProperties_v2(struct cudaDeviceProp *p, int device)
{
    return fill_properties(p, device);
}

/* ---- driver (libcuda.so.1): what GeNN's CUDA backend references; no device here ---- */
CUresult cuInit(unsigned int flags) { (void)flags; return CUDA_ERROR_NO_DEVICE; }
CUresult cuDeviceGet(CUdevice *d, int ordinal) { (void)d; (void)ordinal; return CUDA_ERROR_NO_DEVICE; }
#if CUDA_VERSION >= 13000
CUresult cuCtxCreate(CUcontext *c, CUctxCreateParams *p, unsigned int f, CUdevice d)
{ (void)c; (void)p; (void)f; (void)d; return CUDA_ERROR_NO_DEVICE; }
#else
CUresult cuCtxCreate(CUcontext *c, unsigned int f, CUdevice d)
{ (void)c; (void)f; (void)d; return CUDA_ERROR_NO_DEVICE; }
#endif
CUresult cuCtxDestroy(CUcontext c) { (void)c; return CUDA_ERROR_NO_DEVICE; }
CUresult cuCtxSetCurrent(CUcontext c) { (void)c; return CUDA_ERROR_NO_DEVICE; }
CUresult cuModuleLoad(CUmodule *m, const char *f) { (void)m; (void)f; return CUDA_ERROR_NO_DEVICE; }
CUresult cuModuleUnload(CUmodule m) { (void)m; return CUDA_ERROR_NO_DEVICE; }
CUresult cuModuleGetFunction(CUfunction *f, CUmodule m, const char *n)
{ (void)f; (void)m; (void)n; return CUDA_ERROR_NO_DEVICE; }
CUresult cuFuncGetAttribute(int *v, CUfunction_attribute a, CUfunction f)
{ (void)v; (void)a; (void)f; return CUDA_ERROR_NO_DEVICE; }
CUresult cuGetErrorName(CUresult e, const char **s) { (void)e; *s = "CUDA_ERROR_NO_DEVICE"; return CUDA_SUCCESS; }
CUresult cuGetErrorString(CUresult e, const char **s) { (void)e; *s = "no GPU (build-only stand-in)"; return CUDA_SUCCESS; }
