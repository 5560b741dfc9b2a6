import { DataTypes, type QueryInterface } from 'sequelize';

/**
 * `admins.password_change_required`: an administrator added by another one signs in with the
 * initial password that admin chose, and must replace it before the console opens (the colleague
 * who typed it, or whoever saw it on the way, must not keep a working sign-in). Existing admins
 * chose their own passwords, so the default is false.
 */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.addColumn('admins', 'password_change_required', { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false });
}
