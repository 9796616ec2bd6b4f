# SCALELAB_TORCH_LIBS: what the trainer links for LibTorch, after find_package(Torch)
# (docs/torch.md). Three flavours:
#  - default: ${TORCH_LIBRARIES} as TorchConfig.cmake gives them (Debian's 1.13);
#  - SCALELAB_TORCH_CPU_ONLY: libtorch_cpu and libc10 alone, from a CUDA wheel whose
#    NVIDIA libraries are not installed;
#  - SCALELAB_CUDA: ${TORCH_LIBRARIES} of a CUDA build (torch, torch_cuda, c10_cuda, cudart,
#    ...), the CUDA headers, and SCALELAB_CUDA=1 for the sources that include them.
if(SCALELAB_CUDA AND SCALELAB_TORCH_CPU_ONLY)
  message(FATAL_ERROR "SCALELAB_CUDA=ON and SCALELAB_TORCH_CPU_ONLY=ON exclude each other: "
                      "a CUDA build links libtorch_cuda")
endif()

if(SCALELAB_TORCH_CPU_ONLY)
  # libtorch.so pulls in libtorch_cuda.so, which needs cuFile, cuSPARSELt and NVSHMEM from
  # multi-gigabyte wheels; nothing on a CPU needs them.
  find_library(SCALELAB_TORCH_CPU torch_cpu PATHS "${TORCH_INSTALL_PREFIX}/lib" NO_DEFAULT_PATH REQUIRED)
  find_library(SCALELAB_C10 c10 PATHS "${TORCH_INSTALL_PREFIX}/lib" NO_DEFAULT_PATH REQUIRED)
  add_library(scalelab_torch INTERFACE)
  target_include_directories(scalelab_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
  target_link_libraries(scalelab_torch INTERFACE ${SCALELAB_TORCH_CPU} ${SCALELAB_C10})
  set(SCALELAB_TORCH_LIBS scalelab_torch)
elseif(SCALELAB_CUDA)
  # Without this check a CPU LibTorch (Debian's) would configure and fail later, in
  # the first source that includes <ATen/cuda/CUDAContext.h>.
  if(NOT TARGET torch_cuda OR NOT TARGET c10_cuda)
    message(FATAL_ERROR "SCALELAB_CUDA=ON needs a CUDA build of LibTorch, but the one in "
                        "${TORCH_INSTALL_PREFIX} has no torch_cuda: use SCALELAB_TORCH=pip-cuda "
                        "(docs/torch.md) or a CUDA LibTorch in CMAKE_PREFIX_PATH")
  endif()
  add_library(scalelab_torch INTERFACE)
  # CUDAToolkit_INCLUDE_DIRS (cuda_runtime_api.h, ...) is set by the FindCUDAToolkit
  # that TorchConfig.cmake runs.
  target_include_directories(scalelab_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS} ${CUDAToolkit_INCLUDE_DIRS})
  target_link_libraries(scalelab_torch INTERFACE ${TORCH_LIBRARIES})
  target_compile_definitions(scalelab_torch INTERFACE SCALELAB_CUDA=1)
  # A pip install puts the NVIDIA libraries in site-packages/nvidia/*/lib, next to torch/
  # (scripts/torch-pip-cuda.sh). The torch libraries' RPATH finds them at run time; at
  # link time -rpath-link makes ld take them before the toolkit's copies in the -rpath
  # CMake adds (the toolkit's NCCL is older and lacks symbols libtorch_cuda.so uses).
  file(GLOB scalelab_nvidia_libs "${TORCH_INSTALL_PREFIX}/../nvidia/*/lib")
  if(scalelab_nvidia_libs)
    list(JOIN scalelab_nvidia_libs ":" scalelab_nvidia_libs)
    target_link_options(scalelab_torch INTERFACE "LINKER:-rpath-link,${scalelab_nvidia_libs}")
  endif()
  message(STATUS "SCALELAB_CUDA: LibTorch ${Torch_VERSION} with CUDA ${CUDAToolkit_VERSION} "
                 "(headers ${CUDAToolkit_INCLUDE_DIRS}); NVIDIA wheels: ${scalelab_nvidia_libs}")
  set(SCALELAB_TORCH_LIBS scalelab_torch)
else()
  set(SCALELAB_TORCH_LIBS ${TORCH_LIBRARIES})
endif()
