import factory
from factory.django import DjangoModelFactory

from accounts.models import Role, Team, User, UserRole

PASSWORD = "Acountee-pw-2026!"


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    capabilities: list[str] = []


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@acountee.test")
    name = factory.Faker("name", locale="vi_VN")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        self.save()
        for role_name in extracted or []:
            UserRole.objects.create(user=self, role=Role.objects.get(name=role_name))


class RoleFactory(DjangoModelFactory):
    class Meta:
        model = Role

    name = factory.Sequence(lambda n: f"role-{n}")
