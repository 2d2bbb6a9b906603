#ifndef MODELCTL_CHDF5_SHIM_H
#define MODELCTL_CHDF5_SHIM_H

#include <hdf5.h>

// HDF5 defines its default property lists, predefined types and flags as macros that cast, or that call H5open()
// and then read a global; Swift imports none of them. These wrappers return their values.
static inline hid_t chdf5_p_default(void) { return H5P_DEFAULT; }
static inline hid_t chdf5_e_default(void) { return H5E_DEFAULT; }
static inline hid_t chdf5_p_file_access(void) { return H5P_FILE_ACCESS; }
static inline unsigned chdf5_f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline hid_t chdf5_t_c_s1(void) { return H5T_C_S1; }
static inline size_t chdf5_t_variable(void) { return H5T_VARIABLE; }
static inline unsigned chdf5_o_info_basic(void) { return H5O_INFO_BASIC; }

// Turns off the library's automatic printing of its error stack to stderr (a library must not print).
static inline herr_t chdf5_silence_errors(void) { return H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

#endif
