"""InfoGAN benchmark suite."""
