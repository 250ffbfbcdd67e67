from django.contrib.auth.hashers import Argon2PasswordHasher


class CheapArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 still (the stored hash reads argon2$...), at a cost fit for a test suite."""

    time_cost = 1
    memory_cost = 1024
    parallelism = 1
